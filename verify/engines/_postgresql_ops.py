"""PostgreSQL configuration groups, backups and streaming replication.

Mixed into verify.engines.postgresql.PostgreSQLServer (kept apart to keep
each module small). Strategies: pg_basebackup (physical), pg_dump (logical:
pg_dumpall --globals-only + pg_dump -Fc per database), postgresql_streaming.
"""

from __future__ import annotations

import time
from pathlib import Path

from psycopg import sql

from verify.engines._config_rules import validate
from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.capabilities import Backup, CapabilityOps, ConfigRule
from verify.errors import EngineError, NotSupported

PHYSICAL, LOGICAL, STREAMING = "pg_basebackup", "pg_dump", "postgresql_streaming"

# Parameters a configuration group may set, as in Trove's validation rules for
# PostgreSQL. Type, bounds and dynamic/restart come from the server's own
# pg_settings (context 'postmaster' = needs a restart).
CONFIGURABLE = ("work_mem", "maintenance_work_mem", "max_connections", "shared_buffers",
                "effective_cache_size", "statement_timeout", "log_min_duration_statement",
                "random_page_cost", "autovacuum", "max_wal_senders", "checkpoint_timeout",
                "default_transaction_read_only", "temp_buffers")
_TYPES = {"integer": "integer", "real": "float", "bool": "boolean", "string": "string",
          "enum": "string"}


class PostgreSQLOps(CapabilityOps):
    # configuration groups ---------------------------------------------------
    def config_rules(self) -> dict[str, ConfigRule]:
        with self.client() as c:
            rows = c.query("SELECT name, vartype, context, min_val, max_val FROM pg_settings "
                           "WHERE name = ANY(%s)", (list(CONFIGURABLE),))
        return {name: ConfigRule(name=name, type=_TYPES[vartype],
                                 dynamic=context != "postmaster",
                                 min=float(lo) if lo is not None else None,
                                 max=float(hi) if hi is not None else None)
                for name, vartype, context, lo, hi in rows}

    def apply_configuration(self, values: dict[str, object]) -> bool:
        rules = self.config_rules()
        validate(rules, values, engine="PostgreSQL")
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
        with self.client() as c:
            rows = c.query("SELECT setting FROM pg_settings WHERE name = %s", (name,))
        if not rows:
            raise EngineError(f"PostgreSQL has no setting {name!r}")
        return rows[0][0]

    # backup and restore -----------------------------------------------------
    def _as_root(self, argv: list[str]) -> None:
        self.runtime.run(argv, timeout=self.timeouts.command, as_root=True)

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if parent is not None:
            raise NotSupported("PostgreSQL strategies here make full backups only")
        dest.mkdir(parents=True, exist_ok=True)
        env = {"PGPASSWORD": self.admin.password}
        host = ["-h", self.runtime.address, "-p", str(self.port), "-U", self.admin.user]
        if strategy == PHYSICAL:
            # written by the harness (root) into its own scratch space
            self.runtime.run([self.tool("pg_basebackup"), *host, "-D", str(dest / "data"),
                              "-Fp", "-Xs", "--checkpoint=fast", "--no-password"],
                             env=env, timeout=self.timeouts.command, as_root=True)
            label = (dest / "data" / "backup_label").read_text()
            start_wal = _label_field(label, "START WAL LOCATION")
            return Backup(strategy, dest, meta={"start_wal": start_wal})
        if strategy == LOGICAL:
            proc = self.runtime.run([self.tool("pg_dumpall"), *host, "--globals-only",
                                     "--no-password"], env=env, timeout=self.timeouts.command,
                                    as_root=True)
            (dest / "globals.sql").write_text(_without_internal_roles(proc.stdout.decode()))
            databases = []
            with self.client() as c:
                rows = c.query("SELECT datname FROM pg_database WHERE NOT datistemplate")
            for (db,) in rows:
                self.runtime.run([self.tool("pg_dump"), *host, "-Fc", "-d", db,
                                  "-f", str(dest / f"{db}.dump"), "--no-password"],
                                 env=env, timeout=self.timeouts.command, as_root=True)
                databases.append(db)
            return Backup(strategy, dest, meta={"databases": databases})
        raise NotSupported(f"PostgreSQL has no backup strategy {strategy!r}")

    def restore(self, backup: Backup) -> None:
        if backup.strategy == PHYSICAL:
            if self.running():
                self.stop()
            self._seed_data(backup)
            self.start()
        elif backup.strategy == LOGICAL:
            if self.running():
                self._restore_logical(backup)
            else:
                self._pending_restore = backup     # applied once start() has run initdb
        else:
            raise NotSupported(f"PostgreSQL cannot restore a {backup.strategy} backup")

    def _seed_data(self, backup: Backup) -> None:
        """Lay a physical copy down as this server's data directory."""
        self.runtime.make_dirs(self.socket_dir, f"{self.base}/log")
        target = self.data
        self._as_root(["rm", "-rf", target])
        self._as_root(["cp", "-a", str(backup.path / "data"), target])
        self._as_root(["chown", "-R", f"--reference={self.base}", target])
        self._as_root(["chmod", "0700", target])
        for stale in ("postmaster.pid", "standby.signal", "recovery.signal", "standby.conf"):
            self.runtime.path(f"{target}/{stale}").unlink(missing_ok=True)
        self._initialised = True
        self._adopt_admin = True

    def _restore_logical(self, backup: Backup) -> None:
        self.local_sql((backup.path / "globals.sql").read_text())
        for db in backup.meta["databases"]:
            dump = str(backup.path / f"{db}.dump")
            readable = f"{self.base}/restore-{db}.dump"
            self._as_root(["cp", dump, readable])
            self._as_root(["chown", f"--reference={self.base}", readable])
            args = [self.tool("pg_restore"), "-h", self.socket_dir, "-p", str(self.port),
                    "-U", self.admin.user, "--exit-on-error"]
            if db == "postgres":
                args += ["-d", "postgres", readable]
            else:
                args += ["--create", "-d", "postgres", readable]
            try:
                self.runtime.run(args, timeout=self.timeouts.command)
            finally:
                self.runtime.path(readable).unlink(missing_ok=True)

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
        if backup.strategy != PHYSICAL:
            raise NotSupported("a PostgreSQL streaming replica is seeded from a "
                               f"{PHYSICAL} backup, not {backup.strategy}")
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


def _label_field(label: str, key: str) -> str:
    for line in label.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _without_internal_roles(globals_sql: str) -> str:
    """The target has its own admin and replication roles: never overwrite them."""
    internal = ("os_admin", "replicator")
    keep = []
    for line in globals_sql.splitlines():
        if any(f"ROLE {r} " in line or f"ROLE {r};" in line for r in internal):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"
