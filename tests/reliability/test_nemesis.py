"""Properties 6 and 7: faults as scenarios with their own evidence (on a
real MariaDB), and bounded time: a hung engine fails its scenario within
the configured bound while the rest of the run goes on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.reliability import oscheck
from verify.scenarios import planner
from verify.scenarios.base import ScenarioTest, scenario


def _run(workdir, results, monkeypatch, keep, extra=()):
    from verify.runner import RunOptions, execute

    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir))
    original = planner.scenario_methods
    monkeypatch.setattr(planner, "scenario_methods", lambda: [
        m for m in original() if keep(m[2].id)] + list(extra))
    lines: list[str] = []
    record = execute(RunOptions(datastore="mariadb", tier="stable", results=results,
                                versions=["10.11"]), say=lines.append)
    return record, lines


def _paused(workdir: Path) -> list[str]:
    """Our processes left stopped by a SIGSTOP that was never healed."""
    out = []
    for line in oscheck.processes(workdir):
        pid = line.split()[1]
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state in ("T", "t"):
            out.append(line)
    return out


def test_nemesis_scenarios_on_real_mariadb(workdir, tmp_path, monkeypatch):
    need("mariadbd")
    record, lines = _run(workdir, tmp_path / "results", monkeypatch,
                         lambda sid: sid.startswith("nemesis."))
    by_id = {s["id"]: s for s in record["scenarios"]}
    print("\n" + "\n".join(lines))
    for sid in ("nemesis.crash_restart", "nemesis.pause_resume", "nemesis.pause_cluster_node"):
        assert by_id[sid]["status"] == "pass", by_id[sid]
    galera = by_id["nemesis.pause_cluster_node"]["observed"]["nemesis"]
    assert galera["acknowledged"] > 0 and galera["lost"] == 0, galera
    # MariaDB's GTID replication is asynchronous: a write acknowledged just
    # before the primary dies may never reach the replica. Measured here: it
    # sometimes loses the last one. The scenario must say so truthfully: a
    # pass exactly when nothing acknowledged was lost.
    failover = by_id["nemesis.kill_primary"]
    seen = failover["observed"]["nemesis"]
    assert seen["acknowledged"] > 0
    assert (failover["status"] == "pass") == (seen["lost"] == 0), failover
    if seen["lost"]:
        assert "acknowledged writes lost on failover" in failover["reason"]
    print(f"kill_primary: {seen['acknowledged']} acknowledged, {seen['lost']} lost")
    for sid in ("nemesis.partition_replica", "nemesis.fill_volume"):
        if record["guest"] == "namespace":     # its own link and volume to fault
            assert by_id[sid]["status"] == "pass", by_id[sid]
        else:
            assert by_id[sid]["status"] == "skipped"
            assert "namespace guest" in by_id[sid]["reason"], by_id[sid]
    seen = by_id["nemesis.crash_restart"]["observed"]["nemesis"]
    assert seen["acknowledged"] > 0 and seen["lost"] == 0, seen
    assert record["status"] == failover["status"]
    # every fault healed, everything torn down
    assert oscheck.leftovers(workdir, []) == []


class HangProbe(ScenarioTest):
    __test__ = False  # run by trove-verify inside the test below, not by pytest

    @scenario(id="reliability.hang_probe", capability="instance", tier="stable")
    def test_hang(self):
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        self.backend.pause_server(inst)   # the engine hangs: no resume
        self.read(inst, creds, database)  # blocks until the watchdog acts


def test_hung_engine_fails_its_scenario_within_the_bound(workdir, tmp_path, monkeypatch):
    need("mariadbd")
    bound = 10.0
    monkeypatch.setenv("TROVE_VERIFY_TIMEOUT_SCENARIO", str(bound))
    t0 = time.monotonic()
    record, lines = _run(workdir, tmp_path / "results", monkeypatch,
                         lambda sid: sid == "instance.create_delete",
                         [(HangProbe, "test_hang", HangProbe.test_hang.scenario_info)])
    elapsed = time.monotonic() - t0
    by_id = {s["id"]: s for s in record["scenarios"]}
    hung = by_id["reliability.hang_probe"]
    assert hung["status"] == "fail" and "exceeded its bound" in hung["reason"], hung
    assert hung["duration_s"] < bound + 20, hung  # bound + a graceful stop, not 60 s reads
    assert by_id["instance.create_delete"]["status"] == "pass"  # the run went on
    assert record["status"] == "fail" and record["finished"]
    assert oscheck.leftovers(workdir, []) == [] and _paused(workdir) == []
    print(f"\nhung scenario failed after {hung['duration_s']}s (bound {bound}s); "
          f"run took {elapsed:.1f}s")


@pytest.fixture(autouse=True)
def _no_stray_pause(workdir):
    yield
    assert _paused(workdir) == []
