"""The OS mirror an image is built from: the host's apt sources by default,
DIB_DISTRIBUTION_MIRROR when set. No host name is ever written here."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from pathlib import Path

from verify.errors import CannotRunHere

APT_DIR = Path("/etc/apt")


def _host_uris(apt_dir: Path = APT_DIR) -> list[str]:
    """Every archive URI in the host's apt configuration (deb822 and one-line)."""
    uris: list[str] = []
    files = sorted((apt_dir / "sources.list.d").glob("*.sources")) if apt_dir.is_dir() else []
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            if line.lower().startswith("uris:"):
                uris += line.split(":", 1)[1].split()
    lists = [apt_dir / "sources.list"]
    if (apt_dir / "sources.list.d").is_dir():
        lists += sorted((apt_dir / "sources.list.d").glob("*.list"))
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
            if m:
                uris.append(m.group(1))
    return [u.rstrip("/") for u in uris if u.startswith(("http://", "https://", "file:"))]


def mirrors(family: str, apt_dir: Path = APT_DIR,
            environ: dict | None = None) -> dict[str, str]:
    """DIB_* mirror variables for family, or CannotRunHere naming why not.

    The distribution mirror is the first host URI serving that family; the
    Debian security mirror the first URI ending in -security.
    """
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    uris = _host_uris(apt_dir)
    explicit = environ.get("DIB_DISTRIBUTION_MIRROR")
    if explicit:
        out["DIB_DISTRIBUTION_MIRROR"] = explicit
    else:
        mains = [u for u in uris if family in u.lower() and not u.endswith("-security")]
        if not mains:
            raise CannotRunHere(
                f"cannot build here: this host's apt sources name no {family} mirror",
                fix="set DIB_DISTRIBUTION_MIRROR to a reachable one")
        out["DIB_DISTRIBUTION_MIRROR"] = mains[0]
    if family == "debian":
        security = environ.get("DIB_DEBIAN_SECURITY_MIRROR") or next(
            (u for u in uris if u.endswith("-security")), None)
        if security:
            out["DIB_DEBIAN_SECURITY_MIRROR"] = security
    return out


def check_reachable(mirror: str, release: str, family: str, timeout: float = 8.0) -> None:
    """The mirror must serve dists/<release>/Release, or the build cannot start here."""
    if mirror.startswith("file:"):
        return
    url = f"{mirror}/dists/{release}/Release"
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CannotRunHere(
            f"cannot build here: the {family} mirror does not serve {release} "
            f"({reason})",
            fix="set DIB_DISTRIBUTION_MIRROR to a mirror reachable from this machine"
        ) from None
