"""Failure kinds say whose fault it was: the harness's own disk filling up
under a run is `infra`, never a `test` failure against the datastore."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import need
from tests.reliability import oscheck
from verify.scenarios import planner
from verify.scenarios.base import ScenarioTest, scenario
from verify.settings import state_dir


def _fill(directory: Path) -> Path:
    """Take every free byte of the filesystem directory is on."""
    filler = directory / "filler"
    try:
        with open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError as exc:      # full (perhaps already: the run's logs live there too)
        assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.fixture
def tiny_state(workdir):
    """The run's state directory (its ledger) on a 4 MB tmpfs of its own."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (this test fills a private one)")
    state = workdir / "state"
    state.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tv-rel-full", state],
                   check=True)
    try:
        yield state
    finally:
        (state / "filler").unlink(missing_ok=True)
        subprocess.run(["umount", "-l", str(state)], check=False)


class FullDiskProbe(ScenarioTest):
    __test__ = False  # run by trove-verify inside the test below, not by pytest

    @scenario(id="reliability.full_disk", capability="instance", tier="stable")
    def test_full_disk(self):
        _fill(state_dir())     # the harness's own disk fills up mid-scenario
        self.create_instance()


def test_a_full_disk_under_the_ledger_is_infra_never_test(workdir, tmp_path, tiny_state,
                                                          monkeypatch):
    from verify.runner import RunOptions, execute

    need("mariadbd")
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir))
    probe = FullDiskProbe.test_full_disk.scenario_info
    monkeypatch.setattr(planner, "scenario_methods",
                        lambda: [(FullDiskProbe, "test_full_disk", probe)])
    lines: list[str] = []
    record = execute(RunOptions(datastore="mariadb", tier="stable", guest="process",
                                versions=["10.11"], results=tmp_path / "results"),
                     say=lines.append)
    print("\n" + "\n".join(lines))
    s = next(s for s in record["scenarios"] if s["id"] == "reliability.full_disk")
    print(f"{s['id']}: {s['status']} {s.get('failure_kind')} — {s['reason']}")
    assert s["status"] == "fail", s
    assert s["failure_kind"] == "infra", s
    assert "No space left on device" in s["reason"], s
    # the run finished its bundle and tore down what it had made, full disk or not
    assert record["finished"] and record["status"] == "fail"
    (tiny_state / "filler").unlink(missing_ok=True)
    left = [ln for ln in oscheck.leftovers(workdir, []) if "tv-rel-full" not in ln]  # ours
    assert left == []
