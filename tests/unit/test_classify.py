"""classify's rules, each on bundles the harness's own writer made, against
the inspection of the 2015-shaped fixture tree (Trove 4.0.0: mariadb, mysql,
postgresql, redis and cassandra agents, mariadb under experimental/)."""

import shutil

import pytest

from tests.conftest import REPO
from tests.unit.evidence_factory import (
    BOX,
    ENGINE,
    IMAGE,
    gate,
    preview_scenarios,
    scenario,
    write_run,
)
from tests.unit.history_factory import FIXTURE_TREE
from verify import catalog, inspect, policy
from verify.classify import classify, wilson_lower_bound
from verify.evidence.index import load_history


@pytest.fixture(scope="module")
def static():
    return inspect.inspect(FIXTURE_TREE, catalog.load())


def verdicts(results, static=None, runs=None):
    if runs is None:
        runs, _ = load_history(results)
    return {v.subject: v for v in classify(runs, catalog.load(), policy.load(), static)}


def test_zero_evidence_is_unknown_and_never_classified(tmp_path, static):
    for v in verdicts(tmp_path, static).values():
        assert v.tier == "unknown" and v.standing == "no evidence"
        assert v.unmet, "unknown must still name what is missing"


def test_engine_evidence_meets_no_trove_requirement(tmp_path, static):
    # everything a local run can show, on an image: still no Trove requirement met
    write_run(tmp_path, scenarios=preview_scenarios(), image=IMAGE, provenance=ENGINE)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "none" and v.standing == "classified"
    unmet = {u.id: u.why for u in v.unmet if u.tier == "experimental"}
    assert set(unmet) == {"ds-exp-create-delete", "ds-exp-suite"}
    assert unmet["ds-exp-create-delete"] == "no trove or gate run of instance.create_delete"
    assert v.engine_evidence and "engine" in v.evidence
    # the static requirements are the tree's: met from Trove 4.0.0
    assert {"ds-exp-guest-agent", "ds-exp-elements", "ds-exp-unit-tests"} <= set(v.met)
    assert v.trove_tree == "Trove 4.0.0"


def test_old_local_kind_is_engine_evidence(tmp_path, static):
    write_run(tmp_path, provenance={"kind": "local", "job": None, "voting": None})
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "none" and v.evidence == {"engine": [v.engine_evidence[0].split(":")[0]]}


def test_box_run_meets_experimental_and_makes_higher_tiers_eligible(tmp_path, static):
    write_run(tmp_path, scenarios=preview_scenarios(), image=IMAGE, provenance=BOX)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "experimental"
    assert (v.standing, v.eligible_tier) == ("eligible", "stable")
    assert [u.id for u in v.unmet] == ["ds-tp-capabilities", "ds-stable-gate"]
    assert v.unmet[0].why.startswith("not verified by gate runs: instance")
    assert v.unmet[1].why.startswith("no gate runs (stable needs 25 passing voting runs")
    assert any(n.startswith("eligible for stable: trove runs already meet "
                            "ds-tp-capabilities, ds-stable-gate") for n in v.notes)


def test_no_guest_agent_is_the_first_unmet_requirement(tmp_path, static):
    # mongodb: Trove 4.0.0 registers no agent for it, whatever runs show
    write_run(tmp_path, datastore="mongodb", engine="mongodb", provenance=BOX, image=IMAGE,
              scenarios=preview_scenarios("mongodb"))
    v = verdicts(tmp_path, static)["mongodb"]
    assert v.tier == "none"
    assert (v.unmet[0].id, v.unmet[0].why) == (
        "ds-exp-guest-agent", "Trove 4.0.0 has no guest agent for mongodb")
    s = verdicts(tmp_path, static)["mongodb/mongodump"]
    assert s.unmet[0].why == "Trove 4.0.0 has no guest agent for mongodb"


def test_without_inspection_the_verdict_says_so(tmp_path):
    write_run(tmp_path, provenance=BOX)
    v = verdicts(tmp_path, {})["mariadb"]
    assert v.unmet[0].id == "ds-exp-guest-agent"
    assert "trove-verify inspect" in v.unmet[0].why and v.trove_tree == \
        "no Trove tree inspected"


def test_engine_identity_is_judged_per_scenario(tmp_path, static):
    # a run labelled mysql whose every scenario MariaDB answered meets nothing
    write_run(tmp_path, datastore="mysql", engine="mariadb", provenance=BOX, image=IMAGE,
              scenarios=preview_scenarios("mysql", engine="mariadb"))
    v = verdicts(tmp_path, static)["mysql"]
    assert v.tier == "unknown" and v.runs_counted == 0
    assert any("stand-in: answered by mariadb" in n for n in v.notes)
    # one scenario answered by another engine: the suite and the image do not count
    scen = preview_scenarios()
    scen[1] = scenario(scen[1]["id"], scen[1]["capability"], engine="mysql")
    write_run(tmp_path, scenarios=scen, provenance=BOX, image=IMAGE)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "none"
    suite = next(u for u in v.unmet if u.id == "ds-exp-suite")
    assert "answered by another engine" in suite.why


def test_run_status_alone_does_not_build_an_image(tmp_path, static):
    # status says pass, but a scenario failed: no image requirement met
    scen = preview_scenarios()
    scen[2]["status"], scen[2]["reason"] = "fail", "boom"
    write_run(tmp_path, scenarios=scen, provenance=BOX, image=IMAGE, status="pass")
    v = verdicts(tmp_path, static)["mariadb"]
    assert "ds-tp-image" in {u.id for u in v.unmet}


def test_fake_compute_and_stand_in_never_count(tmp_path, static):
    write_run(tmp_path, provenance={"kind": "trove-fake-compute", "job": None, "voting": None})
    write_run(tmp_path, provenance={"kind": "stand-in", "job": "x", "voting": False})
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "unknown" and v.runs_ignored == 2
    notes = " ".join(v.notes)
    assert "trove-fake-compute: Trove's fake compute" in notes and "stand-in:" in notes


def test_sample_bundle_never_counts(tmp_path, static):
    results = tmp_path / "results"
    shutil.copytree(REPO / "results" / "sample", results / "sample")
    runs, rejected = load_history(results)
    assert len(runs) == 1 and not rejected
    v = verdicts(results, static, runs)[runs[0]["datastore"]]
    assert v.tier == "unknown" and v.runs_counted == 0
    assert any("sample: the sample bundle" in n for n in v.notes)


def test_a_bundle_the_index_does_not_count_is_named(tmp_path, static):
    write_run(tmp_path, provenance=BOX)
    runs, _ = load_history(tmp_path)
    runs[0]["_uncounted"] = "unsigned"
    v = verdicts(tmp_path, static, runs)["mariadb"]
    assert v.tier == "unknown"
    assert any("not counted (unsigned" in n and runs[0]["run_id"] in n for n in v.notes), v.notes


def test_incomplete_run_is_never_a_pass(tmp_path, static):
    write_run(tmp_path, provenance=BOX, finish=False)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.runs_counted == 0 and v.runs_ignored == 1
    assert any("run is incomplete" in n for n in v.notes)


def _gate_history(results, voting_runs=30, nonvoting_runs=30, **kw):
    for i in range(nonvoting_runs):
        write_run(results, scenarios=preview_scenarios(), image=IMAGE,
                  provenance=gate(False, "2025.2"),
                  when=_day(i * 0.7))
    for i in range(voting_runs):
        write_run(results, scenarios=preview_scenarios(), image=IMAGE,
                  provenance=gate(True, "2026.1"), when=_day(100 + i))


def _day(n):
    import datetime as dt
    return dt.datetime(2025, 10, 1, tzinfo=dt.UTC) + dt.timedelta(days=n)


def test_stable_needs_a_full_nonvoting_cycle_then_a_stable_voting_history(tmp_path, static):
    _gate_history(tmp_path)
    v = verdicts(tmp_path, static)["mariadb"]
    assert (v.tier, v.standing, v.unmet) == ("stable", "classified", [])
    assert v.gate["nonvoting_cycles"] == ["2025.2"]


def test_killed_voting_runs_count_against_stability(tmp_path, static):
    _gate_history(tmp_path, voting_runs=25)
    killed = [write_run(tmp_path, provenance=gate(True, "2026.1"), finish=False,
                        when=_day(130 + i)).record["run_id"] for i in range(5)]
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "technical-preview"
    assert sorted(v.gate["killed_runs"]) == sorted(killed)
    assert (v.gate["runs"], v.gate["passes"]) == (30, 25)
    assert "Wilson lower bound" in v.unmet[0].why and "5 killed run(s)" in v.unmet[0].why
    assert any("never finished and count as failed" in n for n in v.notes)


def test_unfinished_infra_runs_are_listed_apart(tmp_path, static):
    _gate_history(tmp_path)
    infra = write_run(tmp_path, provenance=gate(True, "2026.1"), finish=False,
                      failure_kind="infra", when=_day(140)).record["run_id"]
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "stable" and v.gate["infra_runs"] == [infra]
    assert any("infra failure(s) reported apart: " + infra in n for n in v.notes)


def test_one_nonvoting_run_is_not_a_cycle(tmp_path, static):
    _gate_history(tmp_path, nonvoting_runs=1)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "technical-preview" and v.gate["nonvoting_cycles"] == []
    assert "full non-voting cycle" in v.unmet[0].why
    assert ">= 25 runs over >= 14 days" in v.unmet[0].why


def test_nonvoting_runs_crammed_into_days_are_not_a_cycle(tmp_path, static):
    for i in range(30):
        write_run(tmp_path, scenarios=preview_scenarios(), image=IMAGE,
                  provenance=gate(False, "2025.2"), when=_day(i * 0.1))
    for i in range(30):
        write_run(tmp_path, scenarios=preview_scenarios(), image=IMAGE,
                  provenance=gate(True, "2026.1"), when=_day(100 + i))
    assert verdicts(tmp_path, static)["mariadb"].gate["nonvoting_cycles"] == []


def test_flaky_suite_is_demoted_not_eligible(tmp_path, static):
    _gate_history(tmp_path, voting_runs=20)
    for i in range(10):
        write_run(tmp_path, scenarios=preview_scenarios(status="fail" if i % 3 == 1 else
                                                        "pass"),
                  image=IMAGE, provenance=gate(True, "2026.1"), when=_day(130 + i))
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "technical-preview" and v.demotion
    assert (v.standing, v.eligible_tier) == ("demoted", None)
    assert not any(n.startswith("eligible") for n in v.notes)


def test_strategies_get_their_own_verdicts(tmp_path, static):
    scen = [scenario("instance.create_delete", "instance"),
            scenario("backup.restore", "backup", strategy="mariabackup"),
            scenario("backup.restore", "backup", strategy="mariadb_dump", status="fail")]
    write_run(tmp_path, scenarios=scen, provenance=BOX)
    s = {"managers": static["managers"], "trove_version": "4.0.0",
         "strategies": {"mariadb/mariabackup": {}, "mariadb/mariadb_dump": {}},
         "strategy_unit_tests": {"mariadb/mariabackup": ["t.py"],
                                 "mariadb/mariadb_dump": ["t.py"]}}
    v = verdicts(tmp_path, s)
    assert v["mariadb/mariabackup"].tier == "experimental"
    assert v["mariadb/mariadb_dump"].tier == "none"
    # the fixture tree defines no MariaBackup: its static requirement says so
    v = verdicts(tmp_path, static)["mariadb/mariabackup"]
    assert v.unmet[0].why == "Trove 4.0.0 defines no MariaBackup (class or cluster package)"


def test_wilson_lower_bound():
    assert wilson_lower_bound(0, 0, 1.96) == 0.0
    assert 0.72 < wilson_lower_bound(10, 10, 1.96) < 0.73
    assert wilson_lower_bound(90, 100, 1.96) < 0.9 < wilson_lower_bound(300, 300, 1.96)


def test_policy_stability_is_reachable():
    st = policy.load().stability
    perfect = min(st.window, max(st.min_runs, 1))
    assert wilson_lower_bound(perfect, perfect, st.confidence_z) >= st.wilson_lower_bound - 1e-3


def test_the_trove_a_box_ran_is_named_and_checked_against_the_tree(tmp_path, static):
    write_run(tmp_path, provenance=BOX)
    v = verdicts(tmp_path, static)["mariadb"]
    assert any(n.startswith("Trove evidence: 1 run(s) on box, Trove 26.0.0 (") for n in v.notes)
    # the box ran 26.0.0; the fixture tree is 4.0.0: said, not hidden
    assert any("the runs exercised Trove 26.0.0 while the static requirements were read "
               "from Trove 4.0.0" in n for n in v.notes)


def test_a_failing_preview_scenario_does_not_fail_the_experimental_suite(tmp_path, static):
    # a box run at the preview tier: every experimental scenario passes, the
    # upgrade (a preview scenario) fails -> experimental is met, preview is not
    scen = preview_scenarios()
    upgrade = next(s for s in scen if s["capability"] == "upgrade")
    upgrade["status"], upgrade["reason"] = "fail", "the server reports 10.11"
    write_run(tmp_path, scenarios=scen, provenance=BOX, image=IMAGE, status="fail")
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.tier == "experimental"
    assert "ds-tp-image" in {u.id for u in v.unmet}
    # an experimental scenario failing fails the experimental suite, naming it
    scen = preview_scenarios()
    scen.append(scenario("instance.create_delete", "instance", status="fail",
                         version="11.8"))
    write_run(tmp_path, scenarios=scen, provenance=BOX, image=IMAGE, status="fail")
    v = verdicts(tmp_path, static)["mariadb"]
    suite = next(u for u in v.unmet if u.id == "ds-exp-suite")
    assert v.tier == "none"
    assert "1 experimental scenario(s) did not pass (e.g. instance.create_delete)" \
        in suite.why


def test_a_run_failing_before_any_engine_answered_counts_as_a_failure(tmp_path, static):
    # Trove never brought the datastore up: no engine named, every scenario
    # failed. That is evidence against Trove, not a stand-in.
    failed = scenario("instance.create_delete", "instance", status="fail")
    failed["engine"] = None
    write_run(tmp_path, scenarios=[failed], engine=None, provenance=BOX, image=IMAGE)
    v = verdicts(tmp_path, static)["mariadb"]
    assert v.runs_counted == 1 and not any("stand-in" in n for n in v.notes), v.notes
    unmet = {u.id: u.why for u in v.unmet}
    assert "fail" in unmet["ds-exp-create-delete"], unmet
