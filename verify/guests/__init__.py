"""Where engines run: process (host binaries), namespace (DIB image), vm.

A small factory so backends pick a guest by name: ``prepare`` readies what a
guest kind needs for a datastore's versions (images: built or from the cache,
unpacked once) before any scenario starts; ``create`` makes one guest.
"""

from __future__ import annotations

from collections.abc import Callable

from verify.catalog import Datastore
from verify.errors import CannotRunHere, UsageError
from verify.state import Ledger

KINDS = ("namespace", "process")


def default_kind() -> tuple[str, str | None]:
    """(kind, note): namespace when this machine allows it, else process with
    the one line saying why (never a silent switch: the caller prints it)."""
    from verify.guests import namespace

    reason = namespace.unavailable()
    if reason is None:
        return "namespace", None
    return "process", (f"guest: {reason}; running on process guests "
                       "(pass --guest process to choose that explicitly)")


def _image_os(ds: Datastore, version: str) -> list[str]:
    return [o for o in ds.version(version).os if ds.os(o).family == "debian"] + \
        [o for o in ds.version(version).os if ds.os(o).family != "debian"]


def unavailable(kind: str, ds: Datastore, version: str) -> str | None:
    """Why a guest of kind cannot run ds version here (None when it can)."""
    if kind not in KINDS:
        raise UsageError(f"unknown guest {kind!r}", fix=f"one of: {', '.join(KINDS)}")
    if kind == "process":
        return None         # the backend checks the host's release itself
    from verify.guests import namespace
    from verify.images import spec_for

    reason = namespace.unavailable()
    if reason:
        return f"{reason} (use --guest process)"
    reasons = []
    for os_name in _image_os(ds, version):
        try:
            spec_for(ds, os_name)
            return None
        except CannotRunHere as exc:
            reasons.append(f"{os_name}: {exc}")
    return (f"no image for {ds.name} {version} can be built here"
            + (f" ({'; '.join(reasons)})" if reasons else ": the version names no OS"))


class Images:
    """Images prepared for a run, by datastore version."""

    def __init__(self) -> None:
        self.by_version: dict[str, object] = {}

    def prepare(self, ds: Datastore, versions: list[str],
                say: Callable[[str], None] = print) -> None:
        from verify.images import spec_for
        from verify.images.build import build

        for version in versions:
            if version in self.by_version:
                continue
            last: Exception | None = None
            for os_name in _image_os(ds, version):
                try:
                    image, hit = build(spec_for(ds, os_name), say=say)
                except CannotRunHere as exc:
                    last = exc
                    continue
                image.rootfs()
                say(f"image {image.name} for {ds.name} {version}: "
                    f"{'cached' if hit else 'built'}, sha256 {image.sha256[:16]}…")
                self.by_version[version] = image
                break
            else:
                raise last or CannotRunHere(f"{ds.name} {version} names no OS to build")

    def ref(self, version: str) -> dict | None:
        image = self.by_version.get(version)
        return image.ref() if image is not None else None


def create(kind: str, instance_id: str, ledger: Ledger, *, images: Images, version: str,
           memory_mb: int, volume_gb: int):
    """One guest of kind for an instance of version."""
    if kind == "process":
        from verify.guests.process import ProcessGuest

        guest = ProcessGuest(instance_id, ledger)
        guest.image = None
        return guest
    from verify.guests.namespace import NamespaceGuest

    image = images.by_version.get(version)
    if image is None:
        raise CannotRunHere(f"no image prepared for version {version}")
    return NamespaceGuest(instance_id, ledger, rootfs=image.rootfs(), image=image.ref(),
                          memory_mb=memory_mb, volume_gb=volume_gb)
