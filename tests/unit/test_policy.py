import pytest
import yaml

from verify import policy
from verify.errors import ConfigError


def test_policy_follows_the_spec():
    pol = policy.load()
    tiers = {r.tier for r in pol.requirements if r.applies_to == "datastore"}
    assert tiers == {"experimental", "technical-preview", "stable"}
    assert {r.tier for r in pol.requirements if r.applies_to == "strategy"} == {
        "experimental", "stable"}
    for r in pol.requirements:
        assert r.evidence in policy.EVIDENCE_KINDS and r.text and r.id


def test_experimental_requirements_cover_the_spec():
    checks = {r.check for r in policy.load().requirements_for("datastore", "experimental")}
    assert checks == {"guest_agent_registered", "create_delete_passes",
                      "guest_elements_exist", "supported_os_defined",
                      "unit_tests_exist", "suite_passes"}


def _write(tmp_path, data):
    p = tmp_path / "tiers.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_strategy_cannot_be_technical_preview(tmp_path):
    data = yaml.safe_load(policy.POLICY_FILE.read_text())
    data["requirements"][-1]["tier"] = "technical-preview"
    with pytest.raises(ConfigError) as err:
        policy.load(_write(tmp_path, data))
    assert "only experimental or stable" in str(err.value)


def test_duplicate_requirement_id(tmp_path):
    data = yaml.safe_load(policy.POLICY_FILE.read_text())
    data["requirements"].append(dict(data["requirements"][0]))
    with pytest.raises(ConfigError) as err:
        policy.load(_write(tmp_path, data))
    assert "used twice" in str(err.value)


def test_unknown_evidence_kind_names_field(tmp_path):
    data = yaml.safe_load(policy.POLICY_FILE.read_text())
    data["requirements"][2]["evidence"] = "hearsay"
    with pytest.raises(ConfigError) as err:
        policy.load(_write(tmp_path, data))
    assert "requirements.2.evidence" in str(err.value)


def test_provenance_kinds_are_policy_data():
    pol = policy.load()
    assert {k for k, counts in pol.provenance.counts.items() if counts} == {
        "engine", "trove", "gate"}
    assert set(pol.provenance.counts) == set(policy.PROVENANCE_KINDS)
    # nothing that speaks of Trove's API or agent is met by engine evidence
    for r in pol.requirements:
        assert "engine" not in r.met_by + r.eligible_by, r.id
    by_id = {r.id: r for r in pol.requirements}
    assert by_id["ds-exp-create-delete"].met_by == ("trove", "gate")
    assert by_id["ds-tp-capabilities"].met_by == ("gate",)
    assert by_id["ds-tp-capabilities"].eligible_by == ("trove",)
    assert by_id["ds-stable-gate"].met_by == ("gate",)
    assert pol.provenance.kind_of({"provenance": {"kind": "local"}}) == "engine"
    assert pol.provenance.kind_of({"_bundle": "sample", "provenance": {"kind": "trove"}}) \
        == "sample"


def test_a_run_requirement_must_name_its_provenances(tmp_path):
    data = yaml.safe_load(policy.POLICY_FILE.read_text())
    del data["requirements"][1]["met_by"]
    with pytest.raises(ConfigError) as err:
        policy.load(_write(tmp_path, data))
    assert "requirements.1.met_by" in str(err.value)


def test_unknown_provenance_kind_names_field(tmp_path):
    data = yaml.safe_load(policy.POLICY_FILE.read_text())
    data["requirements"][1]["met_by"] = ["hearsay"]
    with pytest.raises(ConfigError) as err:
        policy.load(_write(tmp_path, data))
    assert "requirements.1.met_by" in str(err.value)


def test_classify_names_the_same_uncounted_provenances():
    from verify.classify import UNCOUNTED_PROVENANCE

    counts = policy.load().provenance.counts
    assert UNCOUNTED_PROVENANCE == {k for k, c in counts.items() if not c}
