"""MongoDB for real: the technical-preview suite through the CLI on the real
mongod 6.0.5 and 6.0.27 (PyPI wheels, tools/setup.d/mongodb.sh), with a
3-member replica set and the 6.0.5 -> 6.0.27 upgrade. The wheels carry no
mongos and no mongodump: those strategies must be skipped with the reason,
never pass."""

from __future__ import annotations

import pytest

from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    run_preview,
    workdir,
)
from verify.engines.mongodb import runtime as rt


def test_mongodb_technical_preview_run_on_real_mongod(results, workdir,  # noqa: F811
                                                      monkeypatch):
    for version in rt.VERSIONS:
        reason = rt.missing(version)
        if reason:
            pytest.skip(reason)
    monkeypatch.delenv("TROVE_VERIFY_MONGODB_STANDIN", raising=False)
    monkeypatch.delenv("TROVE_VERIFY_MONGOD", raising=False)
    run = run_preview("mongodb", results, workdir, "--guest", "process")
    assert run["provenance"]["kind"] == "local"
    assert run["engine"]["name"] == "mongodb"
    assert run["engine"]["version"] in rt.VERSIONS
    assert "Community" in run["engine"]["distribution"]
    passed = assert_every_claim_covered(
        run, "mongodb", cannot_run_here=frozenset({"mongodump", "mongodb_sharded"}))
    for s in run["scenarios"]:
        if s.get("strategy") == "mongodb_sharded":
            assert "no mongos" in s["reason"], s
        if s.get("strategy") == "mongodump":
            assert "mongodump not found" in s["reason"], s
    assert "mongodb_replica_set" in passed["cluster"]
    assert "mongodb_fs_snapshot" in passed["backup"]
    upgrades = [s for s in run["scenarios"] if s["id"] == "upgrade.next_version"]
    assert {(s["version"], s["status"]) for s in upgrades} == {
        ("6.0.5", "pass"), ("6.0.27", "skipped")}
    assert passed.get("configuration") and passed.get("guest_logs")
    assert {"databases", "users", "root"} <= set(passed)
