"""Pristine data directories made once per engine binary and copied into
each new instance: initialising one (mariadb-install-db, initdb) costs
seconds, a copy of the result a few milliseconds. Runtimes on the host's
binaries only (process guests): one template serves every instance."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

from verify.settings import work_dir

_LOCK = threading.Lock()


def pristine_dir(runtime, binary: str | None, key: str,
                 make: Callable[[str], str]) -> str | None:
    """The template for key (extended by the binary's size and mtime and by
    who copies it), made by make(scratch_dir) -> the directory it initialised
    inside scratch_dir. None where templates do not apply (a runtime
    without host binaries, or no binary: the caller's own initialisation then says what is
    missing)."""
    if not runtime.host_binaries or not binary or not Path(binary).exists():
        return None
    st = os.stat(binary)
    key = f"{key}-{st.st_size}-{int(st.st_mtime)}-{os.geteuid()}"
    store = work_dir() / "templates"
    target = store / key
    with _LOCK:
        if target.is_dir():
            return str(target)
        store.mkdir(parents=True, exist_ok=True)
        store.chmod(0o755)
        scratch = store / f"{key}.tmp-{secrets.token_hex(4)}"
        runtime.make_dirs(str(scratch))
        try:
            made = make(str(scratch))
            try:
                os.rename(made, target)
            except OSError:
                if not target.is_dir():     # else another run made it first
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return str(target)
