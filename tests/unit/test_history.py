"""classify over a realistic gate history (tests/unit/history_factory.py)."""

import json

from tests.conftest import cli
from tests.unit.history_factory import CATALOG
from verify import catalog, inspect, policy
from verify.classify import classify
from verify.evidence.index import Index, load_history


def _verdicts(results, previous=None):
    runs, rejected = load_history(results)
    static, _ = inspect.latest(results)
    found = classify(runs, catalog.load(CATALOG), policy.load(), static,
                     previous if previous is not None else
                     {"postgresql": "stable", "mariadb": "technical-preview"})
    return {v.subject: v for v in found}, rejected


def test_stable_datastore_is_classified_stable(history):
    v = _verdicts(history[0])[0]["mariadb"]
    assert (v.tier, v.standing, v.unmet) == ("stable", "classified", [])
    assert v.gate["judged_on"] == "voting" and v.gate["nonvoting_cycles"] == ["2025.2"]
    assert v.gate["passes"] == v.gate["runs"] == 40 and not v.gate["flaky"]


def test_flaky_datastore_is_demoted_with_the_runs_that_caused_it(history):
    results, ids = history
    v = _verdicts(results)[0]["postgresql"]
    assert v.tier == "technical-preview"
    # demoted, never "eligible for stable" beside it
    assert v.standing == "demoted" and v.eligible_tier is None
    assert v.gate["passes"] == 36 and v.gate["runs"] == 40, "infra run is left out"
    assert v.gate["infra_runs"] == ids["postgresql_infra"]
    [flaky] = v.gate["flaky"]
    assert flaky["key"] == "postgresql 15 backup.restore [pg_basebackup]"
    assert (flaky["passes"], flaky["fails"]) == (36, 4)
    assert v.demotion["from"] == "stable"
    assert "Wilson lower bound" in v.demotion["why"]
    assert sorted(v.demotion["evidence"]) == sorted(ids["postgresql_failed"])
    assert ids["postgresql_infra"][0] not in v.demotion["evidence"]


def test_missing_unit_test_is_named(history):
    v = _verdicts(history[0])[0]["redis"]
    assert v.tier == "none" and v.standing == "classified"
    [unmet] = [u for u in v.unmet if u.tier == "experimental"]
    assert unmet.id == "ds-exp-unit-tests"
    assert unmet.why == "no test module in Trove 4.0.0 imports or patches redis's guest agent"
    # its strategy has a unit test in the tree and a stable non-voting cycle
    assert _verdicts(history[0])[0]["redis/redis_rdb"].tier == "stable"


def test_voting_while_preview_is_eligible_and_said(history):
    v = _verdicts(history[0])[0]["cassandra"]
    assert v.tier == "technical-preview"
    assert (v.standing, v.eligible_tier) == ("eligible", "stable")
    assert "non-voting cycle" in v.unmet[0].why
    notes = " ".join(v.notes)
    assert "votes while its tier is technical-preview" in notes
    assert "gate-trove-functional-dsvm-cassandra (zuul/layout.yaml)" in notes
    assert v.demotion is None, "never stable, so not a demotion"


def test_without_inspection_unit_tests_are_unknown_not_absent(history):
    results = history[0]
    for path in (results / "static").glob("*.json"):
        path.unlink()
    v = _verdicts(results)[0]["mariadb"]
    assert v.tier == "none"
    assert "trove-verify inspect" in v.unmet[0].why


def test_index_follows_the_bundles(history):
    results = history[0]
    runs, _ = load_history(results)
    assert Index(results).path.is_file()
    victim = results / runs[0]["_bundle"] / "run.json"
    victim.write_text(victim.read_text().replace('"pass"', '"fail"', 1))
    runs2, rejected = load_history(results)
    assert len(runs2) == len(runs) - 1
    assert [r.reason for r in rejected] == ["run.json does not match its digest "
                                            "(edited or torn)"]
    Index(results).path.write_bytes(b"not sqlite")
    runs3, rejected3 = load_history(results)
    assert len(runs3) == len(runs2) and len(rejected3) == 1


def test_classify_cli_picks_up_the_latest_inspection(history):
    results = history[0]
    proc = cli("classify", "--format", "json", "--results", str(results),
               "--catalog", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["static_evidence"].endswith(".json")
    tiers = {v["subject"]: (v["tier"], v["standing"]) for v in out["verdicts"]}
    assert tiers["mariadb"] == ("stable", "classified")
    assert tiers["postgresql"] == ("technical-preview", "demoted")
    assert tiers["redis"] == ("none", "classified")
    assert tiers["cassandra"] == ("technical-preview", "eligible")
    table = cli("classify", "--results", str(results), "--catalog", str(CATALOG),
                env={"COLUMNS": "160"})
    assert table.returncode == 0, table.stderr
    assert "eligible for stable" in table.stdout and "flaky" in table.stdout
    assert "demoted from stable" in table.stdout and "Trove 4.0.0" in table.stdout
    for fmt in ("json", "markdown"):
        out = cli("classify", "--format", fmt, "--results", str(results),
                  "--catalog", str(CATALOG)).stdout
        assert "flaky: postgresql 15 backup.restore" in out, fmt
        assert "votes while its tier is technical-preview" in out, fmt
