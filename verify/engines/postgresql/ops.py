"""PostgreSQL configuration groups, backups and streaming replication.

Mixed into verify.engines.postgresql.server.PostgreSQLServer (kept apart to keep
each module small); backups are in backup.py.
"""

from __future__ import annotations

import time

from psycopg import sql

from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.capabilities import (
    Backup,
    CapabilityOps,
    ClientGrants,
    ConfigRule,
    validate_configuration,
)
from verify.engines.postgresql.backup import FULL_PHYSICAL, PHYSICAL, PostgreSQLBackupOps
from verify.engines.postgresql.client import ROOT_USER
from verify.errors import EngineError, NotSupported

STREAMING = "postgresql_streaming"

_INT = 2147483647
# Parameters a configuration group may set, as in Trove's validation rules for
# PostgreSQL: values in the server's base unit (kB, ms, 8kB pages), bounds no
# wider than the server's own pg_settings (a test checks that against a real
# server), dynamic unless pg_settings says context 'postmaster'.
CONFIG_RULES = {r.name: r for r in (
    ConfigRule("work_mem", "integer", True, 64, _INT, example=8192),
    ConfigRule("maintenance_work_mem", "integer", True, 1024, _INT),
    ConfigRule("statement_timeout", "integer", True, 0, _INT, example=12345),
    ConfigRule("log_min_duration_statement", "integer", True, -1, _INT),
    ConfigRule("effective_cache_size", "integer", True, 1, _INT),
    ConfigRule("temp_buffers", "integer", True, 100, 1073741823),
    ConfigRule("checkpoint_timeout", "integer", True, 30, 86400),
    ConfigRule("random_page_cost", "float", True, 0, 1000000),
    ConfigRule("autovacuum", "boolean", True),
    ConfigRule("default_transaction_read_only", "boolean", True),
    ConfigRule("max_connections", "integer", False, 1, 262143, example=60),
    ConfigRule("shared_buffers", "integer", False, 16, 1073741823),
    ConfigRule("max_wal_senders", "integer", False, 0, 262143),
)}


class PostgreSQLOps(PostgreSQLBackupOps, ClientGrants, CapabilityOps):
    CONFIG_RULES = CONFIG_RULES
    REPLICA_SEED = PHYSICAL

    # users ------------------------------------------------------------------
    def change_password(self, user: str, password: str) -> None:
        with self.client() as c:
            c.change_password(user, password)

    def list_access(self, user: str) -> list[str]:
        with self.client() as c:
            return c.list_access(user)

    # root -------------------------------------------------------------------
    def enable_root(self) -> Credentials:
        creds = Credentials(ROOT_USER, random_password())
        with self.client() as c:
            exists = c.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROOT_USER,))
            verb = "ALTER" if exists else "CREATE"
            c.query(sql.SQL(verb + " ROLE {} WITH SUPERUSER LOGIN PASSWORD {}")
                    .format(sql.Identifier(ROOT_USER), sql.Literal(creds.password)))
        return creds

    def root_enabled(self) -> bool:
        with self.client() as c:
            rows = c.query("SELECT rolcanlogin AND rolpassword IS NOT NULL FROM pg_authid "
                           "WHERE rolname = %s", (ROOT_USER,))
        return bool(rows and rows[0][0])

    def disable_root(self) -> None:
        with self.client() as c:
            c.query(sql.SQL("ALTER ROLE {} WITH NOLOGIN PASSWORD NULL")
                    .format(sql.Identifier(ROOT_USER)))
            # sessions already open keep their rights otherwise
            c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE usename = %s", (ROOT_USER,))

    # configuration groups ---------------------------------------------------
    def apply_configuration(self, values: dict[str, object]) -> bool:
        rules = self.config_rules()
        values = validate_configuration(rules, values, engine="PostgreSQL")
        with self.client() as c:
            for name, value in values.items():
                if isinstance(value, bool):
                    value = "on" if value else "off"
                c.query(sql.SQL("ALTER SYSTEM SET {} = {}")
                        .format(sql.Identifier(name), sql.Literal(str(value))))
            c.query("SELECT pg_reload_conf()")
        return self._restart_if_needed(rules, values)

    def remove_configuration(self, names: list[str]) -> bool:
        rules = self.config_rules()
        with self.client() as c:
            for name in names:
                c.query(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
            c.query("SELECT pg_reload_conf()")
        return self._restart_if_needed(rules, names)

    def _restart_if_needed(self, rules: dict[str, ConfigRule], names) -> bool:
        if any(not rules[n].dynamic for n in names if n in rules):
            self.restart()
            return True
        # pg_reload_conf() signals; let the postmaster re-read before anyone checks
        time.sleep(0.2)
        return False

    def setting(self, name: str) -> str:
        with self.client(bounded=False) as c:
            rows = c.query("SELECT setting FROM pg_settings WHERE name = %s", (name,))
        if not rows:
            raise EngineError(f"PostgreSQL has no setting {name!r}")
        return rows[0][0]

    # replication ------------------------------------------------------------
    def _replication_credentials(self) -> Credentials:
        creds = getattr(self, "_repl", None)
        if creds is None:
            creds = Credentials("replicator", random_password())
            with self.client() as c:
                exists = c.query("SELECT 1 FROM pg_roles WHERE rolname = 'replicator'")
                verb = "ALTER" if exists else "CREATE"
                c.query(sql.SQL(verb + " ROLE replicator WITH REPLICATION LOGIN PASSWORD {}")
                        .format(sql.Literal(creds.password)))
            self._repl = creds
        return creds

    def _become_standby_of(self, primary) -> None:
        """Write standby.signal and the connection (password in a 0600 passfile)."""
        creds = primary._replication_credentials()
        passfile = f"{self.base}/replication.pgpass"
        self.runtime.write_file(passfile, f"{primary.runtime.address}:{primary.port}:*:"
                                f"{creds.user}:{creds.password}\n", mode=0o600)
        conninfo = (f"host={primary.runtime.address} port={primary.port} user={creds.user} "
                    f"passfile={passfile} application_name={self.runtime.name}")
        self.runtime.write_file(f"{self.data}/standby.conf",
                                f"primary_conninfo = '{conninfo}'\n", mode=0o600)
        self.runtime.write_file(f"{self.data}/standby.signal", "", mode=0o600)
        self.standby_of = (primary.runtime.address, primary.port)
        # a standby is a read-only copy of the primary's roles: its admin is the
        # primary's, and it cannot be changed there
        self.admin = primary.admin
        self._adopt_admin = False

    def attach_replica(self, replica, strategy: str, backup: Backup) -> None:
        if strategy != STREAMING:
            raise NotSupported(f"PostgreSQL has no replication strategy {strategy!r}")
        if backup.strategy not in FULL_PHYSICAL or backup.parent is not None:
            raise NotSupported("a PostgreSQL streaming replica is seeded from a full "
                               f"{PHYSICAL} backup, not {backup.strategy}")
        # the copy the replica was restored from, as its guest sees it; the
        # restore opened it as a primary, so it is laid down again as a standby
        placed = getattr(replica, "restored_from", None)
        if placed is not None and placed.id == backup.id:
            backup = placed
        replica.stop()
        replica._seed_data(backup)
        replica._become_standby_of(self)
        replica.start()
        wait_for(lambda: replica.replication_caught_up(self),
                 timeout=self.timeouts.replication, what="PostgreSQL replica catching up",
                 alive=replica.running)

    def promote(self) -> None:
        with self.client() as c:
            (in_recovery,), = c.query("SELECT pg_is_in_recovery()")
            if in_recovery:
                (done,), = c.query("SELECT pg_promote(true, %s)",
                                   (int(self.timeouts.replication),))
                if not done:
                    raise EngineError("PostgreSQL promotion did not finish in time")
        self.runtime.write_file(f"{self.data}/standby.conf", "", mode=0o600)
        self.runtime.path(f"{self.base}/replication.pgpass").unlink(missing_ok=True)
        self.standby_of = None

    detach = promote

    def follow(self, primary, strategy: str) -> None:
        """A former primary rejoins as a standby of the new one, via pg_rewind."""
        if strategy != STREAMING:
            raise NotSupported(f"PostgreSQL has no replication strategy {strategy!r}")
        with primary.client() as c:
            c.query("CHECKPOINT")    # pg_rewind reads the new timeline from the control file
        self.stop()
        source = (f"host={primary.runtime.address} port={primary.port} "
                  f"user={primary.admin.user} dbname=postgres")
        self.runtime.run([self.tool("pg_rewind"), f"--target-pgdata={self.data}",
                          f"--source-server={source}"],
                         env={"PGPASSWORD": primary.admin.password},
                         timeout=self.timeouts.command)
        self._become_standby_of(primary)
        self.start()
        wait_for(lambda: self.replication_caught_up(primary),
                 timeout=self.timeouts.replication, what="former PostgreSQL primary catching up",
                 alive=self.running)

    def replication_position(self) -> str:
        """Replayed (standby) or written (primary) WAL position, sortable as text."""
        with self.client() as c:
            (standby,), = c.query("SELECT pg_is_in_recovery()")
            fn = "pg_last_wal_replay_lsn" if standby else "pg_current_wal_insert_lsn"
            (lsn,), = c.query(f"SELECT {fn}()::text")
        return sortable_lsn(lsn or "0/0")

    def read_only(self) -> bool:
        with self.client() as c:
            (ro,), = c.query("SELECT pg_is_in_recovery() OR "
                             "current_setting('default_transaction_read_only')::bool")
        return bool(ro)

    def replication_caught_up(self, primary) -> bool:
        with primary.client() as c:
            (target,), = c.query("SELECT pg_current_wal_insert_lsn()")
        with self.client() as c:
            (caught,), = c.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))
        return bool(caught)


def sortable_lsn(lsn: str) -> str:
    """'0/5000060' -> fixed-width hex, so positions compare correctly as text."""
    high, _, low = lsn.partition("/")
    return f"{int(high, 16):08X}{int(low or '0', 16):08X}"
