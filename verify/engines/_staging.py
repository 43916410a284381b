"""Files an engine needs that sit where the unprivileged service user cannot
reach them (a cache or virtualenv under root's private home, a checkout in a
0700 temporary directory): hard-linked, or copied across filesystems, into
the work directory once per key, world-readable. Cassandra's jars and the
MongoDB stand-in's Python packages use it."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from verify.settings import work_dir

_lock = threading.Lock()


def world_traversable(path: Path) -> bool:
    """Every existing directory from path up lets others in (o+rx)."""
    return all(not p.exists() or os.stat(p).st_mode & 0o005 == 0o005
               for p in [path, *path.parents])


def stage(key: str, files: Iterable[tuple[Path, str]]) -> Path:
    """work_dir()/staged/<key> holding each (source, relative path) pair;
    made once (a marker says complete), shared by later calls and runs."""
    staged = work_dir() / "staged" / key
    with _lock:
        if (staged / ".complete").exists():
            return staged
        tmp = staged.with_name(f"{staged.name}.tmp{os.getpid()}-{uuid.uuid4().hex[:6]}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, mode=0o755)
        for src, rel in files:
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            try:
                os.link(src, dest)
            except OSError:
                shutil.copyfile(src, dest)
            os.chmod(dest, 0o755 if os.access(src, os.X_OK) else 0o644)
        for d in (p for p in tmp.rglob("*") if p.is_dir()):
            d.chmod(0o755)
        (tmp / ".complete").touch()
        for p in (work_dir(), work_dir() / "staged"):
            p.chmod(0o755)
        try:
            tmp.rename(staged)
        except OSError:     # another run staged it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
        return staged
