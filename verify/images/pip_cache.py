"""pip's output (wheels, or installed files) kept in the image cache.

One directory per key, written beside it as .partial and renamed once pip
succeeded, so an interrupted pip never leaves a directory that looks
complete. pip runs on the host: it trusts what this host trusts, which a
build chroot does not.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from verify.errors import CannotRunHere


def pip_into(out: Path, pip_args: list[str], what: str, say: Callable[[str], None],
             timeout: float) -> Path:
    """`pip <pip_args>` writing into `out` (its last argument slot is the
    target directory: pip_args contain "{out}"), or the cached result."""
    if (out / ".complete").exists():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    argv = [sys.executable, "-m", "pip", *(a.replace("{out}", str(tmp)) for a in pip_args)]
    say(f"collecting {what}")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CannotRunHere(f"pip did not collect {what} within {timeout:.0f}s") from None
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CannotRunHere(f"pip could not collect {what}: {proc.stderr.strip()[-300:]}",
                            fix="check that this host reaches the package index")
    (tmp / ".complete").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
