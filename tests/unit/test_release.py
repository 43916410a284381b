"""trove-verify release CYCLE: record, Markdown table, diff with the previous cycle."""

import json

from tests.conftest import cli
from tests.unit.history_factory import CATALOG


def test_release_record_and_diff(history):
    results, ids = history
    proc = cli("release", "2026.1", "--results", str(results), "--catalog", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    record = json.loads((results / "releases" / "2026.1.json").read_text())
    assert record["previous"] == "2025.2"
    d = record["diff"]
    assert [(p["subject"], p["from"], p["to"]) for p in d["promotions"]] == [
        ("mariadb", "technical-preview", "stable")]
    demoted = {p["subject"]: p for p in d["demotions"]}
    assert set(demoted) == {"postgresql", "redis"}
    assert sorted(demoted["postgresql"]["evidence"]) == sorted(ids["postgresql_failed"])
    assert "Wilson" in demoted["postgresql"]["why"]
    assert "ds-exp-unit-tests" in demoted["redis"]["why"]
    assert {p["subject"] for p in d["new"]} >= {"cassandra"}
    assert d["retired"] == [{"subject": "couchdb", "tier": "experimental"}]
    cas = record["verdicts"]["cassandra"]
    assert (cas["tier"], cas["standing"], cas["eligible_tier"]) == (
        "technical-preview", "eligible", "stable")
    for entry in record["verdicts"].values():
        for bundle in entry["evidence"]:
            assert (results / bundle / "run.json").is_file()
    md = (results / "releases" / "2026.1.md").read_text()
    assert "| cassandra | — | technical-preview | eligible for stable |" in md
    assert "| postgresql | — | technical-preview | demoted from stable |" in md
    assert "- postgresql: flaky: postgresql 15 backup.restore [pg_basebackup]" in md
    assert "- demoted: postgresql stable → technical-preview" in md
    assert "- retired: couchdb (was experimental)" in md
    assert "demoted postgresql" in proc.stdout


def test_rerunning_a_cycle_compares_with_the_one_before(history):
    results = history[0]
    args = ("--results", str(results), "--catalog", str(CATALOG))
    assert cli("release", "2026.1", *args).returncode == 0
    again = cli("release", "2026.1", *args)
    assert again.returncode == 0 and "compared with 2025.2" in again.stdout
    nxt = cli("release", "2026.2", *args)
    assert nxt.returncode == 0 and "compared with 2026.1" in nxt.stdout
    record = json.loads((results / "releases" / "2026.2.json").read_text())
    assert not any(record["diff"].values()), record["diff"]


def test_bad_cycle_name_is_a_usage_error(tmp_path):
    proc = cli("release", "../evil", "--results", str(tmp_path))
    assert proc.returncode == 64 and "not a cycle name" in proc.stderr
