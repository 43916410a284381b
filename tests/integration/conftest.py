"""Fixtures shared by the integration tests: one box for the whole session
(every box test module reuses it; bringing a box up costs a minute or more),
torn down at the end with a check that nothing of it is left; and the
mariadb technical-preview tier through that box, started in the background
as the first integration test begins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, cli
from tests.integration.boxwork import leftovers, new_box_root

TIER_TEST = "test_box_runs_the_mariadb_technical_preview_tier"
TIER_VERSION = "10.11"


@pytest.fixture(scope="session")
def box_env():
    root, env = new_box_root("tv-box-")
    env.update({"TROVE_VERIFY_TIMEOUT_TROVE_CREATE": "600",
                "TROVE_VERIFY_TIMEOUT_TROVE_ACTION": "600"})
    yield root, env
    proc = cli("box", "down", env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    work = root / "work"
    assert leftovers(work) == []
    assert not (work / "box" / "run").exists(), "box run dir left (docker data, configs)"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def box(box_env):
    root, env = box_env
    up = cli("box", "up", env=env, timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    return root, env


@dataclass
class TierRun:
    proc: subprocess.Popen
    log: Path
    results: Path
    started: float

    def wait(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=max(1.0, self.started + timeout - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()
            code = -1
        return code, self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()           # the run records itself and tears down
            try:
                self.proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session", autouse=True)
def mariadb_tier(request):
    """`trove-verify run mariadb --version 10.11` (its claimed technical-
    preview tier, through the box by default) started as soon as the first
    integration test begins, when TIER_TEST is among the tests collected.
    Its 9-10 minutes mostly wait on Trove, so it runs beside the local
    tests that follow: runs share this machine by design (the ledger and
    machine-wide address allocation), each in its own work dir.
    TIER_TEST joins it; the session ends it if that test never did."""
    from verify.box.manage import cannot_host
    if not any(getattr(item, "originalname", None) == TIER_TEST
               for item in request.session.items) \
            or cannot_host():
        yield None          # TIER_TEST then asks for the box itself, and skips saying why
        return
    root, env = request.getfixturevalue("box")
    results = root / "tier-results"
    log = root / "tier.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "verify", "run", "mariadb",
                                 "--version", TIER_VERSION],
                                env={**os.environ, **env, "TROVE_VERIFY_RESULTS": str(results)},
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    run = TierRun(proc, log, results, time.monotonic())
    yield run
    run.stop()
