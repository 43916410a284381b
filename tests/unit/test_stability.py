"""Gate stability on bundles the harness's writer made: infra failures apart,
flaky scenarios, the promotion cycle."""

import datetime as dt

from tests.unit.evidence_factory import IMAGE, gate, scenario, write_run
from verify import policy
from verify.classify.stability import flaky_scenarios, gate_stability, is_infra_failure
from verify.evidence.index import load_history

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _runs(results):
    runs, rejected = load_history(results)
    assert not rejected
    return sorted(runs, key=lambda r: r["started"], reverse=True)


def _write(results, i, status="pass", voting=True, cycle="2026.1", infra=False,
           version="10.11", days=1.0):
    s = scenario("backup.restore", "backup", status=status, strategy="mariabackup",
                 version=version)
    if status == "fail":
        s["failure_kind"] = "infra" if infra else "test"
    return write_run(results, scenarios=[s], provenance=gate(voting, cycle), image=IMAGE,
                     when=START + dt.timedelta(days=i * days)).record["run_id"]


def test_infra_failures_are_reported_apart(tmp_path):
    for i in range(30):
        _write(tmp_path, i)
    infra = _write(tmp_path, 31, "fail", infra=True)
    runs = _runs(tmp_path)
    st = gate_stability(runs, policy.load(), ["2026.1"], promoted=True)
    assert st.problem is None and st.runs == 30 and st.infra_runs == [infra]
    assert is_infra_failure(runs[0]) and not is_infra_failure(runs[1])


def test_flaky_needs_the_same_inputs(tmp_path):
    _write(tmp_path, 1)
    _write(tmp_path, 2, "fail")
    assert [f.key for f in flaky_scenarios(_runs(tmp_path))] == [
        "mariadb 10.11 backup.restore [mariabackup]"]
    other = tmp_path / "other"
    _write(other, 1)
    _write(other, 2, "fail", version="11.8")
    assert flaky_scenarios(_runs(other)) == []


def test_promotion_needs_a_full_nonvoting_cycle(tmp_path):
    pol = policy.load()
    for i in range(30):
        _write(tmp_path, i, voting=False, cycle="2026.1")
    runs = _runs(tmp_path)
    st = gate_stability(runs, pol, ["2026.1"])
    assert "promotion needs 1 full non-voting cycle" in st.problem
    # the gate moved on to 2026.2: the 2026.1 cycle (30 runs over 29 days) is full
    st = gate_stability(runs, pol, ["2026.1", "2026.2"])
    assert st.problem is None and st.nonvoting_cycles == ["2026.1"]


def test_a_cycle_needs_enough_runs_spread_over_enough_days(tmp_path):
    pol = policy.load()
    for i in range(30):                       # 30 runs within three days
        _write(tmp_path, i, voting=False, cycle="2026.1", days=0.1)
    st = gate_stability(_runs(tmp_path), pol, ["2026.1", "2026.2"])
    assert st.nonvoting_cycles == [] and ">= 14 days" in st.problem


def test_killed_voting_runs_are_failures(tmp_path):
    for i in range(25):
        _write(tmp_path, i)
    killed = [write_run(tmp_path, provenance=gate(True), finish=False,
                        when=START + dt.timedelta(days=40 + i)).record["run_id"]
              for i in range(5)]
    runs = _runs(tmp_path)
    finished = [r for r in runs if r["status"] == "pass"]
    unfinished = [r for r in runs if r["status"] == "incomplete"]
    st = gate_stability(finished, policy.load(), ["2026.1"], promoted=True,
                        unfinished=unfinished)
    assert (st.runs, st.passes) == (30, 25) and sorted(st.killed_runs) == sorted(killed)
    assert "5 killed run(s) counted as failed" in st.problem


def test_infra_failure_as_latest_run_does_not_fail_the_suite(tmp_path):
    from tests.unit.evidence_factory import BOX
    from tests.unit.history_factory import FIXTURE_TREE
    from verify import catalog, inspect
    from verify.classify import classify

    write_run(tmp_path, provenance=BOX)
    infra = scenario("instance.create_delete", "instance", status="fail")
    infra["failure_kind"] = "infra"
    write_run(tmp_path, scenarios=[infra], provenance=BOX)
    static = inspect.inspect(FIXTURE_TREE, catalog.load())
    v = {v.subject: v for v in classify(_runs(tmp_path), catalog.load(), policy.load(),
                                        static)}
    assert v["mariadb"].tier == "experimental", v["mariadb"].unmet
