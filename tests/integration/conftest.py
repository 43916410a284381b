"""Fixtures shared by the integration tests: one box for the whole session
(every box test module reuses it; bringing a box up costs a minute or more),
torn down at the end with a check that nothing of it is left."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import cli


@pytest.fixture(scope="session")
def box_env():
    from verify.box.manage import cannot_host
    reason = cannot_host()
    if reason:
        pytest.skip(f"this machine cannot host the box: {reason}")
    root = Path(tempfile.mkdtemp(prefix="tv-box-", dir="/tmp"))
    root.chmod(0o755)        # the service user (MariaDB, RabbitMQ) traverses it
    env = {"TROVE_VERIFY_WORKDIR": str(root / "work"),
           "TROVE_VERIFY_RESULTS": str(root / "results"),
           "TROVE_VERIFY_TIMEOUT_TROVE_CREATE": "600",
           "TROVE_VERIFY_TIMEOUT_TROVE_ACTION": "600"}
    yield root, env
    proc = cli("box", "down", env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    _assert_nothing_left(root / "work")
    shutil.rmtree(root, ignore_errors=True)


def _assert_nothing_left(work: Path) -> None:
    prefix = str(work.resolve())
    procs = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(p / "cwd")
        except OSError:
            continue
        if prefix in cmd or cwd.startswith(prefix):
            procs.append(f"{p.name}: {cmd[:120]}")
    assert procs == [], f"processes left: {procs}"
    mounts = [ln for ln in Path("/proc/mounts").read_text().splitlines() if prefix in ln]
    assert mounts == [], f"mounts left: {mounts}"
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    assert prefix not in loops, f"loop devices left: {loops}"
    state = work / "state"
    ledgers = [p.name for p in state.glob("*.json")] if state.is_dir() else []
    assert ledgers == [], f"ledgers left: {ledgers}"
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    run_dir = work / "box" / "run"
    assert not run_dir.exists(), f"{run_dir} left (docker data dirs, configs)"
    docker_dirs = list(work.rglob("docker")) if work.exists() else []
    assert docker_dirs == [], f"docker data dirs left: {docker_dirs}"
    del netns   # namespaces are named per guest; their removal is asserted via the ledger


@pytest.fixture(scope="session")
def box(box_env):
    root, env = box_env
    up = cli("box", "up", env=env, timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    return root, env
