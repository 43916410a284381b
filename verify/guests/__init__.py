"""Where engines run: process (host binaries), namespace (DIB image), vm.

Guest kinds are a registry (as Molecule's drivers): GUESTS names each kind's
class, a verify.guests.base.Guest, in this one place; the CLI's --guest
choices and the backends derive from it. ``Images`` readies what a kind needs
for a datastore's versions before any scenario starts; ``create`` makes one
guest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from verify.errors import CannotRunHere
from verify.guests.base import Guest
from verify.registry import lookup

if TYPE_CHECKING:      # the CLI reads KINDS at start-up: keep this import cheap
    from verify.catalog import Datastore
    from verify.state import Ledger

# kind -> "module:class"; imported only when a run uses the kind
GUESTS = {
    "namespace": "verify.guests.namespace:NamespaceGuest",
    "process": "verify.guests.process:ProcessGuest",
}
KINDS = tuple(GUESTS)


def guest_class(kind: str) -> type[Guest]:
    return lookup(GUESTS, kind, what="guest", fix=f"one of: {', '.join(KINDS)}")


def host_binary_kind() -> str:
    """The kind that runs this host's own binaries (a version no OS image ships)."""
    return next(k for k in KINDS if guest_class(k).host_binaries)


def default_kind() -> tuple[str, str | None]:
    """(kind, note): namespace when this machine allows it, else process with
    the one line saying why (never a silent switch: the caller prints it)."""
    from verify.guests import namespace

    reason = namespace.unavailable()
    if reason is None:
        return "namespace", None
    return "process", (f"guest: {reason}; running on process guests "
                       "(pass --guest process to choose that explicitly)")


def image_os(ds: Datastore, version: str) -> list[str]:
    """The version's OSes to build an image from, Debian first."""
    return [o for o in ds.version(version).os if ds.os(o).family == "debian"] + \
        [o for o in ds.version(version).os if ds.os(o).family != "debian"]


def unavailable(kind: str, ds: Datastore, version: str) -> str | None:
    """Why a guest of kind cannot run ds version here (None when it can)."""
    return guest_class(kind).unavailable(ds, version)


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
            for os_name in image_os(ds, version):
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
           memory_mb: int, volume_gb: int) -> Guest:
    """One guest of kind for an instance of version."""
    return guest_class(kind).create(instance_id, ledger, images=images, version=version,
                                    memory_mb=memory_mb, volume_gb=volume_gb)
