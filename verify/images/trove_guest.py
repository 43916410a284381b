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
from collections.abc import Callable
from pathlib import Path

from verify.catalog import OperatingSystem
from verify.errors import ConfigError
from verify.images import (
    BASE_ELEMENT,
    NAMESPACE_ELEMENTS,
    PASSED_ENV,
    Image,
    ImageSpec,
    cached,
    content_hash,
    dib_version,
    mirror,
)
from verify.images.pip_cache import pip_into
from verify.settings import cache_dir

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
        env["TROVE_GUESTAGENT_VERSION"] = ""     # the checkout's own wheel
    else:
        env["TROVE_GUESTAGENT_VERSION"] = environ.get("TROVE_VERIFY_TROVE_VERSION",
                                                      TROVE_VERSION)
    elements = (BASE_ELEMENT[OS.family], *NAMESPACE_ELEMENTS, *OS.elements)
    key = content_hash(list(elements), env, dib_version())
    # where the wheels are is not what they are: kept out of the key
    env["TROVE_VERIFY_WHEELHOUSE"] = str(cache_dir() / "wheels" / f"{NAME}-{key[:16]}")
    return ImageSpec(NAME, OS, elements, env, key)


def wheelhouse(spec: ImageSpec, say: Callable[[str], None] = print,
               timeout: float = 1200.0) -> Path:
    """The guest agent's wheels for spec, made once on this host with pip
    (which trusts what this host trusts; the build chroot does not)."""
    out = Path(spec.env["TROVE_VERIFY_WHEELHOUSE"])
    what = (spec.env.get("TROVE_VERIFY_TROVE_SRC")
            or f"trove=={spec.env['TROVE_GUESTAGENT_VERSION']}")
    return pip_into(out, ["wheel", "-q", "--wheel-dir", "{out}", what],
                    f"{NAME}: the guest agent's wheels ({what})", say, timeout)


def build(say: Callable[[str], None] = print, environ: dict | None = None) -> tuple[Image, bool]:
    """The Trove guest image: cached, or built now (wheels first). (image, hit)"""
    from verify.images.build import build as build_image

    image_spec = spec(environ)
    if (hit := cached(image_spec)) is not None:
        return hit, True
    wheelhouse(image_spec, say=say)
    return build_image(image_spec, say=say)
