"""Gate stability: infra failures apart, flaky scenarios, the promotion cycle."""

from verify import policy
from verify.classify.stability import flaky_scenarios, gate_stability, is_infra_failure


def run(i, status="pass", voting=True, cycle="2026.1", infra=False, version="10.11"):
    failed = status == "fail"
    return {"run_id": f"r{i}", "datastore": "mariadb", "version": version, "status": status,
            "provenance": {"kind": "gate", "voting": voting, "cycle": cycle},
            "scenarios": [{"id": "backup.restore", "strategy": "mariabackup",
                           "status": status, "version": version,
                           **({"failure_kind": "infra" if infra else "test"}
                              if failed else {})}]}


def test_infra_failures_are_reported_apart():
    runs = [run(i) for i in range(30)] + [run(99, "fail", infra=True)]
    st = gate_stability(runs[::-1], policy.load(), ["2026.1"], promoted=True)
    assert st.problem is None and st.runs == 30 and st.infra_runs == ["r99"]
    assert is_infra_failure(runs[-1]) and not is_infra_failure(runs[0])


def test_flaky_needs_the_same_inputs():
    same = [run(1), run(2, "fail")]
    assert [f.key for f in flaky_scenarios(same)] == [
        "mariadb 10.11 backup.restore [mariabackup]"]
    other_version = [run(1), run(2, "fail", version="11.8")]
    assert flaky_scenarios(other_version) == []


def test_promotion_needs_a_full_nonvoting_cycle():
    pol = policy.load()
    nonvoting_now = [run(i, voting=False, cycle="2026.1") for i in range(30)]
    st = gate_stability(nonvoting_now, pol, ["2026.1"])
    assert "promotion needs 1 full non-voting cycle" in st.problem
    # the gate moved on to 2026.2: the 2026.1 cycle is now full
    st = gate_stability(nonvoting_now, pol, ["2026.1", "2026.2"])
    assert st.problem is None and st.nonvoting_cycles == ["2026.1"]


def test_infra_failure_as_latest_run_does_not_fail_the_suite(tmp_path):
    from tests.unit.evidence_factory import scenario, write_run
    from verify import catalog
    from verify.classify import classify
    from verify.evidence import scan

    write_run(tmp_path)
    infra = scenario("instance.create_delete", "instance", status="fail")
    infra["failure_kind"] = "infra"
    write_run(tmp_path, scenarios=[infra])
    runs, _ = scan(tmp_path)
    static = {"unit_tests": {"mariadb": ["t.py"]}, "strategy_unit_tests": {}}
    v = {v.subject: v for v in classify(runs, catalog.load(), policy.load(), static)}
    assert v["mariadb"].tier == "experimental", v["mariadb"].unmet
