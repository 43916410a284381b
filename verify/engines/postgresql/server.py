"""PostgreSQL from Debian packages: launch, probe with psycopg, identify, operate.

initdb and postgres refuse to run as root; the guest runs them as its
unprivileged service user. The admin role (os_admin) is the bootstrap
superuser; inside the guest it also logs in over the local socket by peer
authentication (like Trove's guest agent), so the engine's own tools never
need its password on a command line.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from verify.engines._template import pristine_dir
from verify.engines.base import Server, wait_for
from verify.engines.postgresql.client import ENGINE, PostgreSQLClient
from verify.engines.postgresql.ops import PostgreSQLOps
from verify.engines.postgresql.upgrade import WAL_SEGMENT_MB, UpgradeOps, bin_dir


class PostgreSQLServer(UpgradeOps, PostgreSQLOps, Server):
    engine = ENGINE
    default_port = 5432
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

    def log_files(self) -> dict[str, Path]:
        return {"general": self.runtime.path(f"{self.base}/log/postgresql.log")}

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
