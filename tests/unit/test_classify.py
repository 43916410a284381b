from tests.unit.evidence_factory import scenario, write_run
from verify import catalog, policy
from verify.classify import classify, wilson_lower_bound
from verify.evidence import scan

STATIC_OK = {"unit_tests": {"mariadb": True, "redis": True},
             "strategy_unit_tests": {}}


def verdicts(results, static=None):
    runs, rejected = scan(results)
    return {v.subject: v for v in classify(runs, catalog.load(), policy.load(), static)}


def test_zero_evidence_is_unknown_for_every_datastore(tmp_path):
    for v in verdicts(tmp_path).values():
        assert v.tier == "unknown"
        assert v.unmet, "unknown must still name what is missing"


def test_experimental_needs_static_evidence_too(tmp_path):
    write_run(tmp_path)
    v = verdicts(tmp_path)["mariadb"]
    assert v.tier == "none"
    assert [u.id for u in v.unmet if u.tier == "experimental"] == ["ds-exp-unit-tests"]


def test_experimental_reached_and_next_tier_named(tmp_path):
    write_run(tmp_path)
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "experimental"
    next_ids = {u.id for u in v.unmet if u.tier == "technical-preview"}
    assert next_ids == {"ds-tp-capabilities", "ds-tp-image"}


def test_tiers_are_inclusive(tmp_path):
    # every claimed capability passes on an image, but create/delete failed:
    # preview evidence cannot lift a datastore over a missing experimental one
    caps = catalog.load().get("mariadb").capabilities
    scen = [scenario(f"{c}.x", c) for c in caps if c != "instance"]
    scen.append(scenario("instance.create_delete", "instance", status="fail"))
    write_run(tmp_path, scenarios=scen, image={"name": "i", "sha256": "0" * 64})
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "none"
    assert "ds-exp-create-delete" in {u.id for u in v.unmet}


def test_technical_preview_when_every_claim_passes_on_an_image(tmp_path):
    caps = catalog.load().get("mariadb").capabilities
    scen = [scenario("instance.create_delete", "instance")]
    scen += [scenario(f"{c}.x", c) for c in caps if c != "instance"]
    write_run(tmp_path, scenarios=scen, image={"name": "i", "sha256": "0" * 64})
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "technical-preview"
    assert [u.id for u in v.unmet] == ["ds-stable-gate"]


def test_stand_in_engine_never_classifies(tmp_path):
    caps = catalog.load().get("mariadb").capabilities
    scen = [scenario(f"{c}.x", c, engine="mysql") for c in caps]
    scen.append(scenario("instance.create_delete", "instance", engine="mysql"))
    write_run(tmp_path, scenarios=scen, engine="mysql", image={"name": "i", "sha256": "0" * 64})
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "unknown"
    assert v.runs_counted == 0 and "stand-in" in v.notes[0]


def test_fake_compute_provenance_never_classifies(tmp_path):
    write_run(tmp_path, provenance={"kind": "trove-fake-compute", "job": None, "voting": None})
    assert verdicts(tmp_path, STATIC_OK)["mariadb"].tier == "unknown"


def test_incomplete_run_is_never_a_pass(tmp_path):
    write_run(tmp_path, finish=False)
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "unknown" and v.runs_ignored == 1


def test_stable_needs_a_stable_voting_gate_history(tmp_path):
    caps = catalog.load().get("mariadb").capabilities
    scen = [scenario("instance.create_delete", "instance")]
    scen += [scenario(f"{c}.x", c) for c in caps if c != "instance"]
    image = {"name": "i", "sha256": "0" * 64}
    gate = {"kind": "gate", "job": "trove-verify-mariadb", "voting": True, "cycle": "2026.1"}
    for _ in range(30):
        write_run(tmp_path, scenarios=scen, provenance=gate, image=image)
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    # voting from the start: promotion needs a full non-voting cycle first
    assert v.tier == "technical-preview" and v.standing == "eligible"
    assert "non-voting cycle" in v.unmet[0].why and "votes while" in " ".join(v.notes)
    for _ in range(30):
        write_run(tmp_path, scenarios=scen, image=image,
                  provenance=dict(gate, voting=False, cycle="2025.2"))
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier == "stable" and v.standing == "classified", v.unmet


def test_flaky_gate_history_is_not_stable(tmp_path):
    caps = catalog.load().get("mariadb").capabilities
    gate = {"kind": "gate", "job": "trove-verify-mariadb", "voting": True}
    for i in range(30):
        status = "fail" if i % 10 == 0 else "pass"
        scen = [scenario("instance.create_delete", "instance")]
        scen += [scenario(f"{c}.x", c, status=status) for c in caps if c != "instance"]
        write_run(tmp_path, scenarios=scen, provenance=gate,
                  image={"name": "i", "sha256": "0" * 64})
    v = verdicts(tmp_path, STATIC_OK)["mariadb"]
    assert v.tier != "stable"
    assert any("Wilson" in u.why for u in v.unmet if u.id == "ds-stable-gate")


def test_strategies_get_their_own_verdicts(tmp_path):
    scen = [scenario("instance.create_delete", "instance"),
            scenario("backup.restore", "backup", strategy="mariabackup"),
            scenario("backup.restore", "backup", strategy="mariadb_dump", status="fail")]
    write_run(tmp_path, scenarios=scen)
    static = dict(STATIC_OK, strategy_unit_tests={"mariadb/mariabackup": True,
                                                  "mariadb/mariadb_dump": True})
    v = verdicts(tmp_path, static)
    assert v["mariadb/mariabackup"].tier == "experimental"
    assert v["mariadb/mariadb_dump"].tier == "none"


def test_wilson_lower_bound():
    assert wilson_lower_bound(0, 0, 1.96) == 0.0
    assert 0.72 < wilson_lower_bound(10, 10, 1.96) < 0.73
    assert wilson_lower_bound(90, 100, 1.96) < 0.9 < wilson_lower_bound(300, 300, 1.96)


def test_policy_stability_is_reachable():
    st = policy.load().stability
    perfect = min(st.window, max(st.min_runs, 1))
    assert wilson_lower_bound(perfect, perfect, st.confidence_z) >= st.wilson_lower_bound - 1e-3
