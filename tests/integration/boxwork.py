"""A box's private work directory for a test, and what of the box is still
on the machine after it (shared by the session box and the teardown tests)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest


def new_box_root(prefix: str) -> tuple[Path, dict]:
    """A fresh directory under /tmp and the environment that points a box at
    it; skips the test where this machine cannot host the box."""
    from verify.box.manage import cannot_host
    reason = cannot_host()
    if reason:
        pytest.skip(f"this machine cannot host the box: {reason}")
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    root.chmod(0o755)        # the service user (MariaDB, RabbitMQ) traverses it
    return root, {"TROVE_VERIFY_WORKDIR": str(root / "work"),
                  "TROVE_VERIFY_RESULTS": str(root / "results")}


def leftovers(work: Path) -> list[str]:
    """Everything of this box's still on the machine. A process is the box's
    when its command line, working directory or environment names the work
    dir: an epmd that erl daemonised has only the environment to show."""
    prefix = str(work.resolve())
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(p / "cwd")
            environ = (p / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if prefix in cmd or cwd.startswith(prefix) or prefix in environ:
            found.append(f"process {p.name}: {cmd[:100]}")
    found += [f"mount {ln}" for ln in Path("/proc/mounts").read_text().splitlines()
              if prefix in ln]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    found += [f"loop {ln}" for ln in loops.splitlines() if prefix in ln]
    state = work / "state"
    found += [f"ledger {p.name}" for p in state.glob("*.json")] if state.is_dir() else []
    found += [f"docker data dir {p}" for p in work.rglob("docker")] if work.exists() else []
    return found
