import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def workdir():
    # pytest's tmp_path is private to root; the service user must traverse this one
    path = Path(tempfile.mkdtemp(prefix="tv-rel-", dir="/tmp"))
    path.chmod(0o755)
    yield path / "work"
    subprocess.run([sys.executable, "-m", "verify", "cleanup"], cwd=REPO, capture_output=True,
                   env=dict(os.environ, TROVE_VERIFY_WORKDIR=str(path / "work")), timeout=120)
    shutil.rmtree(path, ignore_errors=True)


def start_run(workdir: Path, results: Path, *args: str, env: dict | None = None,
              out=subprocess.PIPE) -> subprocess.Popen:
    """`trove-verify run mariadb --tier experimental` as a user starts it."""
    full = dict(os.environ, TROVE_VERIFY_WORKDIR=str(workdir),
                TROVE_VERIFY_RESULTS=str(results), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "verify", "run", "mariadb", "--backend",
                             "local", "--tier", "experimental", *args], cwd=REPO, env=full,
                            stdout=out, stderr=subprocess.STDOUT, text=True)


def wait_for_server(workdir: Path, proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Until the run's ledger records a server process (False if the run ended first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for path in (workdir / "state").glob("*.json"):
            try:
                if '"kind": "process"' in path.read_text():
                    return True
            except OSError:
                pass
        time.sleep(0.01)
    return False
