"""A synthetic-but-realistic gate history, written through the real Bundle writer.

Four datastores of tests/fixtures/gate-catalog.yaml:
- mariadb: stable. A full non-voting cycle (2025.2), then voting (2026.1), all green.
- postgresql: flaky at 10%. Its backup scenario fails in one voting run out of
  ten; one further run died of an infra failure the bundle labels as such.
- redis: green everywhere, but the inspected Trove tree has no unit test for it.
- cassandra: its gate job votes while its tier is preview (no non-voting cycle).
The previous release record (2025.2) says mariadb technical-preview,
postgresql stable, redis experimental and couchdb experimental (since retired).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from tests.conftest import REPO
from verify.evidence import Bundle

CATALOG = REPO / "tests" / "fixtures" / "gate-catalog.yaml"
FIXTURE_TREE = REPO / "tests" / "fixtures" / "trove-2015"
START = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
ENGINE_VERSION = {"mariadb": "10.11.6", "postgresql": "15.8", "redis": "7.0.15",
                  "cassandra": "5.0.2"}
VERSION = {"mariadb": "10.11", "postgresql": "15", "redis": "7.0", "cassandra": "5.0"}
STRATEGY = {"mariadb": "mariabackup", "postgresql": "pg_basebackup", "redis": "redis_rdb",
            "cassandra": "nodetool_snapshot"}
IMAGE = {"name": "debian-bookworm-guest", "sha256": "ab" * 32}


class History:
    def __init__(self, results: Path):
        self.results = results
        self.n = 0

    def run(self, ds: str, cycle: str | None, voting: bool | None, fail: str | None = None,
            infra: bool = False, kind: str = "gate") -> str:
        """One bundle; fail names the scenario that fails (test failure)."""
        self.n += 1
        started = START + dt.timedelta(hours=6 * self.n)
        engine = {"name": ds, "version": ENGINE_VERSION[ds], "distribution": "Debian 12"}
        scenarios = []
        for sid, cap, strategy, secs in (("instance.create_delete", "instance", None, 4.0),
                                         ("backup.restore", "backup", STRATEGY[ds], 9.0)):
            failed = sid == fail
            s = {"id": sid, "test_id": f"verify.scenarios.{sid}", "capability": cap,
                 "strategy": strategy, "version": VERSION[ds],
                 "status": "fail" if failed else "pass",
                 "duration_s": secs + (self.n % 7) * 0.3,
                 "reason": ("timed out waiting for the node" if infra else
                            "restored rows differ: 999 != 1000") if failed else None,
                 "logs": [], "engine": engine}
            if failed:
                s["failure_kind"] = "infra" if infra else "test"
            scenarios.append(s)
        job = f"trove-verify-{ds}" if kind == "gate" else None
        bundle = Bundle.start(self.results, {
            "run_id": f"{started:%Y%m%dT%H%M%SZ}-{ds}-{self.n:04x}",
            "harness_version": "0.1", "backend": "local", "guest": "namespace",
            "datastore": ds, "version": VERSION[ds],
            "provenance": {"kind": kind, "job": job, "voting": voting, "cycle": cycle},
            "static": {"elements": {"debian-bookworm": {"debian-guest": True,
                                                        f"debian-{ds}": True}}},
        })
        bundle.record["started"] = started.isoformat()
        status = "fail" if fail else "pass"
        bundle.finish(status, scenarios=scenarios, image=IMAGE, engine=engine)
        (bundle.root / "junit.xml").write_text("<testsuite/>")
        return bundle.record["run_id"]


def build(results: Path) -> dict:
    """Write the whole history; return the run ids that explain each verdict."""
    h = History(results)
    out: dict[str, list[str]] = {"postgresql_failed": [], "postgresql_infra": []}
    for _ in range(30):                                   # cycle 2025.2: non-voting
        for ds in ("mariadb", "postgresql", "redis"):
            h.run(ds, "2025.2", False)
    for i in range(40):                                   # cycle 2026.1: voting
        h.run("mariadb", "2026.1", True)
        fail = "backup.restore" if i % 10 == 3 else None  # flaky at 10%
        rid = h.run("postgresql", "2026.1", True, fail=fail)
        if fail:
            out["postgresql_failed"].append(rid)
        h.run("redis", "2026.1", False)
        h.run("cassandra", "2026.1", True)                # votes, never non-voting
    out["postgresql_infra"].append(
        h.run("postgresql", "2026.1", True, fail="instance.create_delete", infra=True))
    for ds in ("mariadb", "postgresql", "redis", "cassandra"):
        h.run(ds, None, None, kind="local")
    previous = {"cycle": "2025.2", "previous": None, "verdicts": {
        "mariadb": {"tier": "technical-preview"}, "postgresql": {"tier": "stable"},
        "redis": {"tier": "experimental"}, "couchdb": {"tier": "experimental"}}}
    releases = results / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    (releases / "2025.2.json").write_text(json.dumps(previous))
    return out
