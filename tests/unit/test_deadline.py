"""The scenario deadline every wait consults (verify/deadline.py)."""

import contextvars
import threading
import time

import pytest

from verify import deadline
from verify.engines.base import wait_for
from verify.errors import WaitTimeout
from verify.settings import Timeouts


def test_outside_a_scenario_a_wait_keeps_its_own_bound():
    assert deadline.bound(120.0) == 120.0
    assert Timeouts(engine_start=7).bound("engine_start") == 7


def test_inside_a_scenario_a_wait_gets_min_of_own_and_time_left():
    with deadline.scope(5.0):
        assert 4.5 < deadline.bound(120.0) <= 5.0
        assert deadline.bound(1.0) == 1.0
        assert 4.5 < Timeouts().bound("cluster") <= 5.0
    assert deadline.bound(120.0) == 120.0       # the scope is gone after


def test_after_the_deadline_only_the_floor_is_left():
    with deadline.scope(0.01):
        time.sleep(0.02)
        assert deadline.bound(60.0) == 0.0
        assert deadline.bound(60.0, floor=2.0) == 2.0


def test_a_wait_cut_short_says_the_scenario_bound_ran_out():
    with deadline.scope(0.3) as d:
        t0 = time.monotonic()
        with pytest.raises(WaitTimeout, match="time bound of 0s .*ran out"):
            wait_for(lambda: False, timeout=120, what="MariaDB on 10.0.0.1:3306")
        assert time.monotonic() - t0 < 2
        assert d.ran_out == "MariaDB on 10.0.0.1:3306"


def test_a_wait_that_ends_on_its_own_bound_says_so():
    with deadline.scope(60):
        with pytest.raises(WaitTimeout, match="no answer within 0s"):
            wait_for(lambda: False, timeout=0.1, what="x")


def test_instances_are_watched_in_the_scenario_that_creates_them():
    with deadline.scope(10) as d:
        deadline.watch("inst-1")
        # a worker thread started in a copy of the context belongs to it too
        t = threading.Thread(target=contextvars.copy_context().run,
                             args=(deadline.watch, "inst-2"))
        t.start()
        t.join()
    deadline.watch("nobody's")     # outside any scenario: ignored
    assert d.watched == ["inst-1", "inst-2"]


def test_an_interrupt_ends_every_scenarios_waits_in_every_worker():
    """An interrupted run is not held up by scenarios still waiting (each in
    its own worker thread, each with its own deadline)."""
    ended: list[str] = []

    def scenario(name: str) -> None:
        with deadline.scope(600):
            try:
                wait_for(lambda: False, timeout=600, what=name)
            except WaitTimeout as exc:
                ended.append(str(exc))

    workers = [threading.Thread(target=scenario, args=(f"wait {i}",)) for i in range(3)]
    for w in workers:
        w.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    deadline.interrupt_all()
    for w in workers:
        w.join(timeout=10)
    assert time.monotonic() - t0 < 5
    assert sorted(ended) == [f"wait {i}: the run was interrupted" for i in range(3)]


def test_an_interrupt_leaves_waits_outside_any_scenario_alone():
    # teardown runs outside every scenario: it still waits its own bound
    with deadline.scope(600):
        deadline.interrupt_all()
        assert deadline.bound(60.0, floor=2.0) == 2.0
    assert deadline.bound(60.0) == 60.0
    assert not deadline.over(time.monotonic() + 60)
