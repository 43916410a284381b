import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def results(tmp_path, monkeypatch):
    path = tmp_path / "results"
    monkeypatch.setenv("TROVE_VERIFY_RESULTS", str(path))
    return path


def cli(*args, env=None, timeout=600):
    """Run trove-verify as a user would, in a subprocess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "verify", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=REPO)


def need(binary: str) -> None:
    """Integration tests need the engine; say so loudly instead of passing."""
    if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists():
        pytest.skip(f"{binary} not installed: run tools/setup.sh")
