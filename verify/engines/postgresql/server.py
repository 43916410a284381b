"""PostgreSQL from Debian packages: launch, probe with psycopg, identify, operate.

initdb and postgres refuse to run as root; the guest runs them as its
unprivileged service user. The admin role (os_admin) is the bootstrap
superuser; inside the guest it also logs in over the local socket by peer
authentication (like Trove's guest agent), so the engine's own tools never
need its password on a command line.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import psycopg
from psycopg import sql

from verify.engines._template import pristine_dir
from verify.engines.base import Client, Credentials, Identity, Server, wait_for
from verify.engines.postgresql.ops import ROOT_USER, PostgreSQLOps
from verify.engines.postgresql.upgrade import postgresql_upgrade_to
from verify.errors import EngineError

ENGINE = "postgresql"
ITEMS_TABLE = "verify_items"
REPLICATION_USER = "replicator"
SYSTEM_DATABASES = ("postgres", "template0", "template1")
INTERNAL_ROLES = ("os_admin", ROOT_USER, REPLICATION_USER)

WAL_SEGMENT_MB = 1
_VERSION = re.compile(r"^(\d+(?:\.\d+)*)\s*(?:\((.*)\))?")


def identity_from(server_version: str, version_string: str) -> Identity:
    """Identity from `SHOW server_version` and version().

    version() of PostgreSQL itself starts with "PostgreSQL"; forks and
    wire-compatible servers say something else there.
    """
    name = "postgresql" if version_string.startswith("PostgreSQL ") else \
        (version_string.split() or ["unknown"])[0].lower()
    m = _VERSION.match(server_version.strip())
    if not m:
        return Identity(name=name, version=server_version.strip())
    return Identity(name=name, version=m.group(1), distribution=m.group(2) or "")


def bin_dir(version: str) -> str:
    """Debian keeps each major version's server binaries apart."""
    return f"/usr/lib/postgresql/{version.split('.')[0]}/bin"


class PostgreSQLClient(Client):
    def __init__(self, host: str, port: int, creds: Credentials, database: str | None = None,
                 timeout: float = 10.0, bounded: bool = True):
        self.host, self.port, self.creds, self.timeout = host, port, creds, timeout
        # statements are bounded per session; `bounded=False` only for reading
        # server settings, which the session option would otherwise mask
        options = f"-c statement_timeout={int(timeout * 6000)}" if bounded else ""
        self.conn = psycopg.connect(host=host, port=port, user=creds.user,
                                    password=creds.password, dbname=database or "postgres",
                                    connect_timeout=max(1, int(timeout)), autocommit=True,
                                    options=options)

    def close(self) -> None:
        self.conn.close()

    def query(self, statement, args: tuple | None = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall()) if cur.description else []

    def _on(self, database: str) -> PostgreSQLClient:
        return PostgreSQLClient(self.host, self.port, self.creds, database, self.timeout)

    def identity(self) -> Identity:
        (server_version, version_string), = self.query(
            "SELECT current_setting('server_version'), version()")
        return identity_from(server_version, version_string)

    # databases ------------------------------------------------------------
    def create_database(self, name: str) -> None:
        self.query(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0")
                   .format(sql.Identifier(name)))
        # PUBLIC may connect to every new database by default: without this,
        # revoking a user's access would change nothing.
        self.query(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC")
                   .format(sql.Identifier(name)))

    def list_databases(self) -> list[str]:
        rows = self.query("SELECT datname FROM pg_database WHERE NOT datistemplate")
        return sorted(r[0] for r in rows if r[0] not in SYSTEM_DATABASES)

    def delete_database(self, name: str) -> None:
        self.query(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))

    # users ----------------------------------------------------------------
    def create_user(self, name: str, password: str, databases: list[str]) -> None:
        self.query(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
                   .format(sql.Identifier(name), sql.Literal(password)))
        for db in databases:
            self.grant(name, db)

    def change_password(self, name: str, password: str) -> None:
        self.query(sql.SQL("ALTER ROLE {} PASSWORD {}")
                   .format(sql.Identifier(name), sql.Literal(password)))

    def grant(self, name: str, database: str) -> None:
        self.query(sql.SQL("GRANT ALL PRIVILEGES ON DATABASE {} TO {}")
                   .format(sql.Identifier(database), sql.Identifier(name)))
        # PG15 no longer lets every role create in schema public
        with self._on(database) as c:
            c.query(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(name)))

    def revoke(self, name: str, database: str) -> None:
        self.query(sql.SQL("REVOKE ALL PRIVILEGES ON DATABASE {} FROM {}")
                   .format(sql.Identifier(database), sql.Identifier(name)))
        with self._on(database) as c:
            c.query(sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(sql.Identifier(name)))

    def list_access(self, name: str) -> list[str]:
        rows = self.query("SELECT datname FROM pg_database WHERE NOT datistemplate "
                          "AND has_database_privilege(%s, datname, 'CONNECT')", (name,))
        return sorted(r[0] for r in rows if r[0] not in SYSTEM_DATABASES)

    def list_users(self) -> list[str]:
        rows = self.query("SELECT rolname FROM pg_roles WHERE rolcanlogin "
                          "AND rolname NOT LIKE 'pg\\_%%'")
        return sorted(r[0] for r in rows if r[0] not in INTERNAL_ROLES)

    def delete_user(self, name: str) -> None:
        # a role owning objects cannot be dropped: hand them to the admin first
        for (db,) in self.query("SELECT datname FROM pg_database WHERE datallowconn"):
            with self._on(db) as c:
                c.query(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER; DROP OWNED BY {}")
                        .format(sql.Identifier(name), sql.Identifier(name)))
        self.query(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))

    # data -----------------------------------------------------------------
    def write_items(self, items: dict[str, str]) -> None:
        self.query(f"CREATE TABLE IF NOT EXISTS {ITEMS_TABLE} "
                   "(k text PRIMARY KEY, v text NOT NULL)")
        with self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {ITEMS_TABLE} (k, v) VALUES (%s, %s) "
                            "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", list(items.items()))

    def read_items(self) -> dict[str, str]:
        return dict(self.query(f"SELECT k, v FROM {ITEMS_TABLE} ORDER BY k"))


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> PostgreSQLClient:
    return PostgreSQLClient(host, port, creds, database, timeout)


class PostgreSQLServer(PostgreSQLOps, Server):
    engine = ENGINE
    default_port = 5432
    upgrade_to = postgresql_upgrade_to                 # verify/engines/_upgrade.py
    upgrade_needs_previous = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bin = bin_dir(self.version)
        self.standby_of: tuple[str, int] | None = None   # (host, port) when a standby
        self._initialised = False
        self._pending_restore = None
        self._adopt_admin = False      # a physical copy carries its source's roles

    # paths ------------------------------------------------------------------

    @property
    def data(self) -> str:
        return f"{self.base}/data"

    @property
    def socket_dir(self) -> str:
        return f"{self.base}/run"

    def tool(self, name: str) -> str:
        return f"{self.bin}/{name}"

    # configuration files ----------------------------------------------------
    def _config(self) -> str:
        shared_mb = self.memory_setting_mb(self.memory_mb)
        lines = [
            f"listen_addresses = '{self.runtime.bind_address}'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "max_connections = 50",
            f"shared_buffers = {shared_mb}MB",
            # streaming replication, and pg_rewind for a former primary
            "wal_level = replica",
            "max_wal_senders = 10",
            "wal_keep_size = 128MB",
            "wal_log_hints = on",
            "hot_standby = on",
            "fsync = on",
            # async commit loses nothing on a clean stop; replication waits on insert LSN
            "synchronous_commit = off",
            "log_destination = 'stderr'",
            "log_line_prefix = '%m [%p] %q%u@%d '",
            "log_min_duration_statement = 1000",
            "include_if_exists = 'standby.conf'",
            *self.archive_settings(),
        ]
        lines += [f"{k} = '{v}'" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"

    def _service_user(self) -> str:
        if not getattr(self, "_os_user", None):
            self._os_user = self.runtime.run(["id", "-un"], timeout=self.timeouts.command
                                             ).stdout.decode().strip()
        return self._os_user

    def _write_config(self) -> None:
        d = self.data
        self.runtime.write_file(f"{d}/postgresql.conf", self._config(), mode=0o600)
        self.runtime.write_file(f"{d}/pg_hba.conf", (
            "# the guest's service user administers over the local socket\n"
            "local all os_admin peer map=guest\n"
            "local replication os_admin peer map=guest\n"
            "local all all scram-sha-256\n"
            "host all all 0.0.0.0/0 scram-sha-256\n"
            "host all all ::/0 scram-sha-256\n"
            "host replication all 0.0.0.0/0 scram-sha-256\n"
            "host replication all ::/0 scram-sha-256\n"), mode=0o600)
        self.runtime.write_file(f"{d}/pg_ident.conf",
                                f"guest {self._service_user()} os_admin\n", mode=0o600)
        if not self.runtime.path(f"{d}/standby.conf").exists():
            self.runtime.write_file(f"{d}/standby.conf", "", mode=0o600)
        auto = self.runtime.path(f"{d}/postgresql.auto.conf")
        if auto.exists():
            auto.chmod(0o600)   # pg_basebackup -R would put a password here

    # lifecycle --------------------------------------------------------------
    def _initdb(self, data: str, pwfile: str) -> None:
        self.runtime.run([self.tool("initdb"), "-D", data, "-U", self.admin.user,
                          f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8",
                          "--locale=C.UTF-8", "--no-instructions",
                          # 1 MB WAL segments: archiving and forced switches (backups,
                          # incremental chains) copy 1 MB instead of 16 MB each
                          f"--wal-segsize={WAL_SEGMENT_MB}",
                          # the server's first checkpoint syncs what matters
                          "--no-sync"], timeout=self.timeouts.command)

    def _template(self) -> str | None:
        # its admin password is thrown away: each instance sets its own at first start
        def make(scratch: str) -> str:
            self.runtime.write_file(f"{scratch}/pwfile", secrets.token_hex(16) + "\n",
                                    mode=0o600)
            self._initdb(f"{scratch}/data", f"{scratch}/pwfile")
            return f"{scratch}/data"

        return pristine_dir(self.runtime, self.tool("postgres"),
                            f"postgresql-{self.version}-wal{WAL_SEGMENT_MB}", make)

    def initialise(self) -> None:
        self.runtime.make_dirs(self.data, self.socket_dir, f"{self.base}/log",
                               self.archive_dir)
        template = self._template()
        if template:
            self.runtime.run(["cp", "-a", f"{template}/.", self.data],
                             timeout=self.timeouts.command)
            self._adopt_admin = True       # set our password over the local socket
        else:
            pwfile = f"{self.base}/pwfile"
            self.runtime.write_file(pwfile, self.admin.password + "\n", mode=0o600)
            try:
                self._initdb(self.data, pwfile)
            finally:
                self.runtime.path(pwfile).unlink(missing_ok=True)
        self._initialised = True

    def start(self) -> None:
        if self.running():
            return
        if not self._initialised:
            self.initialise()
        self._write_config()
        self.process = self.runtime.spawn(
            [self.tool("postgres"), "-D", self.data],
            log_file=f"{self.base}/log/postgresql.log")
        what = f"PostgreSQL on {self.runtime.address}:{self.port}"
        if self._adopt_admin:
            # the copied os_admin has the source's password: take ours back once
            # recovery (crash, or archive recovery of an incremental chain) is over
            wait_for(lambda: self.local_sql("SELECT pg_is_in_recovery()").strip() == "f",
                     timeout=self.timeouts.engine_start, what=what, alive=self.running)
            self.local_sql(f"ALTER ROLE {self.admin.user} PASSWORD "
                           f"'{self.admin.password}'")
            self._adopt_admin = False
        wait_for(self.ping, timeout=self.timeouts.engine_start, what=what, alive=self.running)
        if self._pending_restore is not None:
            backup, self._pending_restore = self._pending_restore, None
            self._restore_logical(backup)

    def stop(self) -> None:
        # fast shutdown: a smart one (SIGTERM) would wait for every client to leave
        if self.running():
            self.runtime.run([self.tool("pg_ctl"), "stop", "-D", self.data, "-m", "fast", "-w",
                              "-t", str(int(self.timeouts.engine_stop))],
                             timeout=self.timeouts.engine_stop + 5, check=False)
        super().stop()

    def ping(self) -> bool:
        with self.client() as c:
            return c.query("SELECT 1") == [(1,)]

    def client(self, database: str | None = None, bounded: bool = True) -> PostgreSQLClient:
        return PostgreSQLClient(self.runtime.address, self.port, self.admin, database,
                                bounded=bounded)

    def local_sql(self, statement: str, database: str = "postgres") -> str:
        """Run SQL as os_admin over the local socket (peer auth), via stdin."""
        proc = self.runtime.run([self.tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                 "-h", self.socket_dir, "-p", str(self.port),
                                 "-U", self.admin.user, "-d", database, "-At"],
                                input=statement.encode(), timeout=self.timeouts.command)
        return proc.stdout.decode()

    def identity(self) -> Identity:
        with self.client() as c:
            return c.identity()

    def log_files(self) -> dict[str, Path]:
        return {"general": self.runtime.path(f"{self.base}/log/postgresql.log")}

    def check_started(self) -> None:
        if not self.running():
            raise EngineError("PostgreSQL is not running")

    # instance ---------------------------------------------------------------
    def memory_setting_mb(self, memory_mb: int) -> int:
        # shared_buffers: a quarter of the flavor, as Trove's template does
        return max(16, memory_mb // 4)

    def boot_id(self) -> str:
        with self.client() as c:
            (started,), = c.query("SELECT pg_postmaster_start_time()::text")
        return started

    def memory_in_effect_mb(self) -> int:
        with self.client() as c:
            (blocks, unit), = c.query("SELECT setting::bigint, unit FROM pg_settings "
                                      "WHERE name = 'shared_buffers'")
        return int(blocks) * _unit_bytes(unit) // (1024 * 1024)

    # guest logs -------------------------------------------------------------
    def enable_log(self, name: str) -> None:
        """Trove's log-enable for the USER log `general`: every statement logged."""
        if name != "general":
            super().enable_log(name)
        with self.client() as c:
            c.query("ALTER SYSTEM SET log_statement = 'all'")
            c.query("SELECT pg_reload_conf()")
        # the postmaster re-reads on the signal; sessions take it at their next query
        wait_for(lambda: self.setting("log_statement") == "all",
                 timeout=self.timeouts.command, what="PostgreSQL enabling the general log")


def _unit_bytes(unit: str | None) -> int:
    return {"8kB": 8192, "kB": 1024, "MB": 1024 * 1024, "B": 1}.get(unit or "B", 1)


SERVER = PostgreSQLServer
