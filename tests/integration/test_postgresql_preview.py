"""PostgreSQL 15 for real: the engine's rules against the server's own
pg_settings, and the whole technical-preview suite through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need
from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    run_preview,
    started_on_process_guest,
    workdir,
)
from verify.engines.base import wait_for
from verify.engines.postgresql import ops
from verify.engines.postgresql import server as pg
from verify.guests.process import ProcessGuest
from verify.state import Ledger

PG_BIN = pg.bin_dir("15")


def need_postgresql() -> None:
    need("pg_basebackup")
    if not (Path(PG_BIN) / "postgres").exists():
        pytest.skip(f"{PG_BIN}/postgres not installed: run tools/setup.sh")


@pytest.fixture(scope="module")
def server():
    need_postgresql()
    with started_on_process_guest(
            "pg-rules", lambda g: pg.SERVER(g, version="15", memory_mb=256)) as srv:
        yield srv


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
    run = run_preview("postgresql", results, workdir, "--backend", "local")
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


def test_replica_keeps_the_replication_password_out_of_its_config(server, tmp_path):
    ledger = Ledger("pytest-postgresql-replica")
    guest = ProcessGuest("pg-replica", ledger)
    replica = pg.SERVER(guest, version="15", memory_mb=256)
    try:
        backup = server.backup("pg_basebackup", tmp_path / "seed")
        replica.restore(backup)
        server.attach_replica(replica, "postgresql_streaming", backup)
        assert replica.read_only()
        password = server._replication_credentials().password
        data = guest.path(replica.data)
        for name in ("postgresql.auto.conf", "postgresql.conf", "standby.conf"):
            path = data / name
            assert password not in path.read_text(), name
            assert path.stat().st_mode & 0o077 == 0, f"{name} is readable by others"
        passfile = guest.path(f"{replica.base}/replication.pgpass")
        assert passfile.stat().st_mode & 0o777 == 0o600
        with server.client() as c:
            c.write_items({"streamed": "yes"})
        wait_for(lambda: replica.replication_caught_up(server), timeout=30,
                 what="replica catching up")
        with replica.client() as c:
            assert c.read_items()["streamed"] == "yes"
    finally:
        replica.stop()
        guest.destroy()
        ledger.teardown()
