"""PostgreSQL 15 for real: the engine's rules against the server's own
pg_settings, and the whole technical-preview suite through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    run_preview,
    workdir,
)
from verify.engines import _postgresql_ops as ops
from verify.engines import postgresql as pg
from verify.guests.process import ProcessGuest
from verify.state import Ledger

PG_BIN = pg.bin_dir("15")


def need_postgresql() -> None:
    need("pg_basebackup")
    if not (Path(PG_BIN) / "postgres").exists():
        pytest.skip(f"{PG_BIN}/postgres not installed: run tools/setup.sh")


@pytest.fixture
def server(workdir, monkeypatch):  # noqa: F811
    need_postgresql()
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir / "work"))
    ledger = Ledger("pytest-postgresql")
    guest = ProcessGuest("pg-rules", ledger)
    srv = pg.SERVER(guest, version="15", memory_mb=256)
    try:
        srv.start()
        yield srv
    finally:
        srv.stop()
        guest.destroy()
        ledger.teardown()


def test_rules_agree_with_the_servers_pg_settings(server):
    with server.client() as c:
        rows = c.query("SELECT name, vartype, context, min_val::float8, max_val::float8 "
                       "FROM pg_settings WHERE name = ANY(%s)", (list(ops.CONFIG_RULES),))
    seen = {name: (vartype, context, lo, hi) for name, vartype, context, lo, hi in rows}
    assert set(seen) == set(ops.CONFIG_RULES)
    types = {"integer": "integer", "real": "float", "bool": "boolean"}
    for name, rule in ops.CONFIG_RULES.items():
        vartype, context, lo, hi = seen[name]
        assert types.get(vartype, "string") == rule.type, name
        assert rule.dynamic == (context != "postmaster"), name
        if lo is not None:
            assert rule.min is not None and rule.min >= lo, name
        if hi is not None:
            assert rule.max is not None and rule.max <= hi, name


def test_identity_comes_from_the_server(server):
    ident = server.identity()
    assert ident.name == "postgresql" and ident.version.startswith("15.")


def test_postgresql_technical_preview_run(results, workdir):  # noqa: F811
    need_postgresql()
    run = run_preview("postgresql", results, workdir)
    assert run["engine"]["name"] == "postgresql"
    assert run["engine"]["version"].startswith("15.")
    passed = assert_every_claim_covered(run, "postgresql")
    for capability in ("databases", "users", "root", "configuration", "guest_logs"):
        assert passed.get(capability), f"{capability} did not pass"
    assert {"pg_basebackup", "pg_basebackup_incremental", "pg_dump"} <= passed["backup"]
    incremental = [s for s in run["scenarios"] if s["id"] == "backup.incremental"]
    assert {(s["strategy"], s["status"]) for s in incremental} == {
        ("pg_basebackup_incremental", "pass"), ("pg_basebackup", "skipped"),
        ("pg_dump", "skipped")}
    assert "postgresql_streaming" in passed["replication"]
