"""The MongoDB stand-in: SecantusDB from PyPI, a wire-compatible server that
is not MongoDB. It tests the harness's own code path when
TROVE_VERIFY_MONGODB_STANDIN asks for it; such a run is labelled stand-in and
never classifies."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from importlib import metadata
from pathlib import Path

from verify.engines._staging import stage

ENV_STANDIN = "TROVE_VERIFY_MONGODB_STANDIN"
STANDIN = "secantusdb"


def _world_usable(path: Path) -> bool:
    """Whether an unprivileged service user can reach and run path."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _installed_files(name: str) -> list[tuple[Path, str]]:
    """(file, path relative to site-packages) of distribution name and of
    every distribution it requires (extras left out)."""
    seen: set[str] = set()
    todo, files = [name], []
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        seen.add(key)
        for f in dist.files or []:
            src = Path(dist.locate_file(f))
            if not str(f).startswith("..") and src.is_file():
                files.append((src, str(f)))
        todo += [re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in dist.requires or []
                 if "extra ==" not in r]
    return files


def _python() -> Path:
    """An interpreter the service user may run: this virtualenv's, or the same
    Python release from /usr/bin when the virtualenv is under a private home."""
    python = Path(sys.executable)
    if _world_usable(python):
        return python
    return Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def _standin_launcher() -> tuple[list[str], dict] | None:
    """(argv prefix, env) running SecantusDB's server, or None when not installed.
    Servers run as the unprivileged service user: when it cannot reach this
    virtualenv's packages, it runs a staged copy of SecantusDB and its
    requirements from the work directory."""
    spec = importlib.util.find_spec("secantus")
    if spec is None or spec.origin is None:
        return None
    site = Path(spec.origin).parent.parent
    if not _world_usable(site):
        version = metadata.version(STANDIN)
        site = stage(f"{STANDIN}-{version}-py{sys.version_info.major}{sys.version_info.minor}",
                     _installed_files(STANDIN))
    code = "import sys; from secantus.cli import main; sys.argv[0] = 'secantusd'; main()"
    return [str(_python()), "-c", code], {"PYTHONPATH": str(site)}


def stand_in() -> str | None:
    """The stand-in the harness was asked to launch instead of mongod, if any."""
    wanted = os.environ.get(ENV_STANDIN, "")
    return STANDIN if wanted.lower() in (STANDIN, "secantus", "1", "yes") else None
