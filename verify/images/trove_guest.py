"""The Trove guest image (element debian-trove-guest): Debian bookworm,
docker.io, sudo and the guest agent of the Trove under test.

Not a catalog datastore: it is what the box's emulated Nova boots for every
datastore. Its cache key covers the elements, the DIB version, the guest
agent's release and, when TROVE_VERIFY_TROVE_SRC names a developer's
checkout, that checkout's tree hash (uncommitted and untracked files
included), so a changed checkout builds a new image.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from verify.catalog import OperatingSystem
from verify.errors import ConfigError
from verify.images import (
    BASE_ELEMENT,
    NAMESPACE_ELEMENTS,
    PASSED_ENV,
    ImageSpec,
    content_hash,
    dib_version,
    mirror,
)

NAME = "trove-guest"
ELEMENT = "debian-trove-guest"
TROVE_VERSION = "26.0.0"
OS = OperatingSystem("debian-bookworm", "debian", "bookworm", ("debian-guest", ELEMENT))


def tree_hash(src: Path) -> str:
    """git's tree hash of a checkout as it is on disk (a private index, so
    the checkout's own index is never touched)."""
    if not (src / "setup.cfg").is_file():
        raise ConfigError(f"{src} is not a Trove checkout (no setup.cfg)",
                          where="TROVE_VERIFY_TROVE_SRC", fix="point it at a trove git clone")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        try:
            for argv in (["git", "-C", str(src), "read-tree", "HEAD"],
                         ["git", "-C", str(src), "add", "-A"]):
                subprocess.run(argv, check=True, capture_output=True, env=env, timeout=120)
            out = subprocess.run(["git", "-C", str(src), "write-tree"], check=True,
                                 capture_output=True, text=True, env=env, timeout=120)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            raise ConfigError(f"cannot hash the checkout {src}: {exc}",
                              where="TROVE_VERIFY_TROVE_SRC",
                              fix="it must be a git clone of trove") from None
    return out.stdout.strip()


def spec(environ: dict | None = None) -> ImageSpec:
    """What to build for the Trove guest image."""
    environ = os.environ if environ is None else environ
    env = {k: environ[k] for k in PASSED_ENV if environ.get(k)}
    env.update(mirror.mirrors(OS.family, environ=environ))
    env["DIB_RELEASE"] = OS.release
    src = environ.get("TROVE_VERIFY_TROVE_SRC")
    if src:
        path = Path(src).resolve()
        env["TROVE_VERIFY_TROVE_SRC"] = str(path)
        env["TROVE_VERIFY_TROVE_TREE"] = tree_hash(path)
    else:
        env["TROVE_GUESTAGENT_VERSION"] = environ.get("TROVE_VERIFY_TROVE_VERSION",
                                                      TROVE_VERSION)
    elements = (BASE_ELEMENT[OS.family], *NAMESPACE_ELEMENTS, *OS.elements)
    key = content_hash(list(elements), env, dib_version())
    return ImageSpec(NAME, OS, elements, env, key)
