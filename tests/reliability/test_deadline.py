"""Bounded time, round 2: every wait inside a scenario obeys the scenario's
deadline. An engine SIGSTOPped while it starts (at create, or during a
resize's restart) must not hold its scenario past bound + 10 s, and the
scenario is recorded as a timeout with a reason that says so."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.conftest import need
from tests.reliability import oscheck
from verify.guests.namespace import NamespaceGuest
from verify.guests.process import ProcessGuest
from verify.scenarios import planner
from verify.scenarios.base import ScenarioTest, scenario

BOUND = 20.0
_STOP_NEXT = threading.local()      # set by a probe: SIGSTOP the next mariadbd it spawns


def _stop_once_started(guest, proc) -> None:
    """SIGSTOP the engine as soon as it exists (a namespace guest's engine is
    a child of nsenter/chroot): "while starting", long before it answers."""
    end = time.monotonic() + 10
    while not guest.engine_pids(proc) and time.monotonic() < end:
        time.sleep(0.02)
    guest.signal_engine(proc, signal.SIGSTOP)


def _stopping_spawn(original):
    def spawn(self, argv, **kwargs):
        proc = original(self, argv, **kwargs)
        if getattr(_STOP_NEXT, "on", False) and argv[0] == "mariadbd":
            _STOP_NEXT.on = False
            threading.Thread(target=_stop_once_started, args=(self, proc),
                             daemon=True).start()
        return proc
    return spawn


class StoppedEngineProbe(ScenarioTest):
    __test__ = False  # run by trove-verify inside the test below, not by pytest

    @scenario(id="reliability.stopped_at_create", capability="instance", tier="stable")
    def test_stopped_at_create(self):
        _STOP_NEXT.on = True
        self.create_instance()

    @scenario(id="reliability.stopped_at_resize", capability="instance", tier="stable")
    def test_stopped_at_resize(self):
        inst = self.create_instance(flavor="small")
        _STOP_NEXT.on = True
        self.backend.resize_instance(inst, "medium")


@pytest.fixture
def stopping_spawn(monkeypatch):
    for guest in (ProcessGuest, NamespaceGuest):
        monkeypatch.setattr(guest, "spawn", _stopping_spawn(guest.spawn))


@pytest.mark.parametrize("guest", ["process", "namespace"])
def test_a_stopped_engine_ends_its_scenario_within_bound_plus_10s(workdir, tmp_path, guest,
                                                                  monkeypatch, stopping_spawn):
    from verify.guests import default_kind
    from verify.runner import RunOptions, execute

    need("mariadbd")
    if guest == "namespace" and default_kind()[0] != "namespace":
        pytest.skip(f"namespace guests cannot run here: {default_kind()[1]}")
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir))
    monkeypatch.setenv("TROVE_VERIFY_TIMEOUT_SCENARIO", str(BOUND))
    probes = [(StoppedEngineProbe, name, getattr(StoppedEngineProbe, name).scenario_info)
              for name in ("test_stopped_at_create", "test_stopped_at_resize")]
    monkeypatch.setattr(planner, "scenario_methods", lambda: probes)
    lines: list[str] = []
    t0 = time.monotonic()
    record = execute(RunOptions(datastore="mariadb", tier="stable", guest=guest,
                                versions=["10.11"], results=tmp_path / "results"),
                     say=lines.append)
    wall = time.monotonic() - t0
    print("\n" + "\n".join(lines))
    by_id = {s["id"]: s for s in record["scenarios"]}
    probed = ("reliability.stopped_at_create", "reliability.stopped_at_resize")
    for sid in probed:
        print(f"{sid}: {by_id[sid]['duration_s']}s for a {BOUND:.0f}s bound — "
              f"{by_id[sid]['reason']}")
    print(f"{guest} guests: run wall time {wall:.1f}s")
    for sid in probed:
        s = by_id[sid]
        assert s["status"] == "fail", s
        assert s["duration_s"] <= BOUND + 10, s
        assert "exceeded its bound of 20s" in s["reason"], s
        assert s["failure_kind"] == "test", s     # the engine hung, not the harness
    # both scenarios ran in parallel: the whole run is bounded too
    assert wall <= BOUND + 30
    assert oscheck.leftovers(workdir, []) == []
