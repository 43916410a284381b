"""MariaDB from Debian packages: launch, probe with PyMySQL, identify, operate."""

from __future__ import annotations

import secrets
import shutil

from verify.engines._template import pristine_dir
from verify.engines.base import Credentials, Server, random_password, wait_for
from verify.engines.capabilities import CapabilityOps
from verify.engines.mariadb.backup import BackupOps
from verify.engines.mariadb.client import ENGINE, MariaDBClient, connect
from verify.engines.mariadb.cluster import GaleraOps
from verify.engines.mariadb.replication import ReplicationOps
from verify.engines.mysql_family.ops import (
    CONFIG_RULES,
    MySQLFamilyConfig,
    MySQLFamilyServer,
    MySQLFamilyUsers,
)
from verify.engines.mysql_family.ops import boot_id as mysql_family_boot_id
from verify.errors import EngineError

REDO_LOG_MB = 16    # the 100 MB default costs every instance disk and time


class MariaDBServer(GaleraOps, BackupOps, ReplicationOps, MySQLFamilyServer, MySQLFamilyUsers,
                    MySQLFamilyConfig, CapabilityOps, Server):
    engine = ENGINE
    default_port = 3306
    CONFIG_RULES = CONFIG_RULES
    REPLICA_SEED = "mariabackup"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.server_id = secrets.randbelow(2**31 - 2) + 1
        self.galera: dict | None = None
        self.root_password = ""


    @property
    def config_file(self) -> str:
        return f"{self.base}/my.cnf"

    def _config(self) -> str:
        b = self.base
        lines = [
            "[mysqld]",
            f"datadir={b}/data",
            f"socket={b}/run/mysqld.sock",
            f"pid-file={b}/run/mysqld.pid",
            f"tmpdir={b}/tmp",
            f"port={self.port}",
            f"bind-address={self.runtime.bind_address}",
            f"log-error={b}/log/error.log",
            f"general_log_file={b}/log/general.log",
            f"slow_query_log_file={b}/log/slow.log",
            "slow_query_log=ON",
            f"innodb_buffer_pool_size={self.memory_setting_mb(self.memory_mb)}M",
            "skip-name-resolve",
            "innodb_flush_log_at_trx_commit=2",
            f"innodb_log_file_size={REDO_LOG_MB}M",
            # binary log + GTID: what mariabackup and GTID replication need
            f"server_id={self.server_id}",
            f"log_bin={b}/data/mariadb-bin",
            "binlog_format=ROW",
            "log_slave_updates=ON",
            "relay_log=relay-bin",
        ]
        lines += self._galera_lines()
        lines += [f"{k}={v}" for k, v in self.settings.items()]
        # tools (mariadb-backup, mariadb-dump, mariadb) log in as the admin
        client = [f"user={self.admin.user}", f"password={self.admin.password}",
                  f"host={self.runtime.address}", f"port={self.port}"]
        lines += ["", "[client]", *client, "", "[mariadb-backup]", *client]
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        self.runtime.write_file(self.config_file, self._config(), mode=0o600)

    def _bootstrap_sql(self) -> str:
        # Runs before the server accepts connections: no window in which an
        # anonymous or password-less account is reachable.
        # sql_log_bin=0: MariaDB 11.8 binlogs init-file statements, and a replica
        # seeded from a backup would replay them against accounts it never had
        return (
            "SET SESSION sql_log_bin=0;\n"
            "DELETE FROM mysql.global_priv WHERE User='' "
            "OR (User='root' AND Host<>'localhost');\n"
            "FLUSH PRIVILEGES;\n"
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{self.root_password}';\n"
            f"CREATE USER '{self.admin.user}'@'%' IDENTIFIED BY '{self.admin.password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.admin.user}'@'%' WITH GRANT OPTION;\n"
        )

    def make_dirs(self) -> None:
        b = self.base
        self.runtime.make_dirs(f"{b}/data", f"{b}/run", f"{b}/log", f"{b}/tmp")

    def _template(self) -> str | None:
        def make(scratch: str) -> str:
            self.runtime.make_dirs(f"{scratch}/data")
            self.runtime.write_file(f"{scratch}/my.cnf", f"[mysqld]\ndatadir={scratch}/data\n"
                                    f"innodb_log_file_size={REDO_LOG_MB}M\n", mode=0o600)
            self._install_db(f"{scratch}/my.cnf")
            return f"{scratch}/data"

        return pristine_dir(self.runtime, shutil.which("mariadbd", path="/usr/sbin:/usr/bin"),
                            f"mariadb-{self.version}-{REDO_LOG_MB}", make)

    def _install_db(self, config_file: str) -> None:
        self.runtime.run(["mariadb-install-db", f"--defaults-file={config_file}",
                          "--auth-root-authentication-method=normal", "--skip-test-db"],
                         timeout=self.timeouts.command)

    def initialise(self) -> None:
        self.make_dirs()
        self.write_config()
        template = self._template()
        if template:
            self.runtime.run(["cp", "-a", f"{template}/.", f"{self.base}/data"],
                             timeout=self.timeouts.command)
        else:
            self._install_db(self.config_file)
        self.root_password = random_password()
        self.runtime.write_file(f"{self.base}/init.sql", self._bootstrap_sql(), mode=0o600)
        self._initialised = True

    def start(self) -> None:
        if not getattr(self, "_initialised", False):
            self.initialise()
            extra = [f"--init-file={self.base}/init.sql"]
        else:
            self.write_config()
            extra = []
        self.process = self.runtime.spawn(
            ["mariadbd", f"--defaults-file={self.config_file}", *extra,
             *self._galera_args()],
            log_file=f"{self.base}/log/console.log",
            # binlogs and logs may hold passwords: owner-only (MariaDB's UMASK is a mode)
            env={"UMASK": "0600", "UMASK_DIR": "0700"})
        wait_for(self.ping, timeout=self._start_timeout(),
                 what=f"MariaDB on {self.runtime.address}:{self.port}", alive=self.running)
        init = self.runtime.path(f"{self.base}/init.sql")
        if init.exists():
            init.unlink()

    def upgrade_to(self, version: str) -> None:
        """The runtime already runs version's binaries over this data: start
        them and let mariadb-upgrade bring the system tables up to date."""
        self.version = version
        self.start()
        self.runtime.run(["mariadb-upgrade", f"--defaults-file={self.config_file}"],
                         timeout=self.timeouts.command)

    def client(self, database: str | None = None) -> MariaDBClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def enable_log(self, name: str) -> None:
        variable = {"general": "general_log", "slow_query": "slow_query_log"}.get(name)
        if variable is None:
            raise EngineError(f"MariaDB has no USER log {name!r}",
                              fix="general or slow_query")
        self.query(f"SET GLOBAL {variable} = ON")
        self.settings[variable] = "ON"      # kept across restarts
        self.write_config()

    # instance -----------------------------------------------------------------
    def memory_setting_mb(self, memory_mb: int) -> int:
        # a quarter of the flavor for the buffer pool, as Trove's templates do
        return max(16, memory_mb // 4)

    def memory_in_effect_mb(self) -> int:
        (value,), = self.query("SELECT @@innodb_buffer_pool_size")
        return int(value) // (1024 * 1024)

    def boot_id(self) -> str:
        with self.client() as c:
            return mysql_family_boot_id(c)

    # root (users, configuration: verify/engines/_mysql_family.py) ---------
    def enable_root(self) -> Credentials:
        creds = Credentials("root", random_password())
        with self.client() as c:
            c.query("CREATE OR REPLACE USER 'root'@'%%' IDENTIFIED BY %s", (creds.password,))
            c.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION")
        return creds

    def root_enabled(self) -> bool:
        return bool(self.query("SELECT 1 FROM mysql.global_priv WHERE User='root' "
                               "AND Host='%'"))

    def disable_root(self) -> None:
        self.query("DROP USER IF EXISTS 'root'@'%'")


SERVER = MariaDBServer
