"""MariaDB from Debian packages: launch, probe with PyMySQL, identify, operate."""

from __future__ import annotations

from pathlib import Path

import pymysql

from verify.engines.base import Client, Credentials, Identity, Server, random_password, wait_for
from verify.engines.capabilities import CapabilityOps
from verify.errors import EngineError

ENGINE = "mariadb"
ITEMS_TABLE = "verify_items"


def identity_from(version: str, comment: str) -> Identity:
    """MariaDB and MySQL both answer VERSION(); only MariaDB says so in it."""
    name = "mariadb" if "mariadb" in version.lower() else "mysql"
    return Identity(name=name, version=version.split("-")[0], distribution=comment)


class MariaDBClient(Client):
    def __init__(self, host: str, port: int, creds: Credentials, database: str | None = None,
                 timeout: float = 10.0):
        self.conn = pymysql.connect(host=host, port=port, user=creds.user,
                                    password=creds.password, database=database,
                                    connect_timeout=timeout, read_timeout=timeout * 6,
                                    write_timeout=timeout * 6, autocommit=True)

    def close(self) -> None:
        self.conn.close()

    def query(self, sql: str, args: tuple | None = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def identity(self) -> Identity:
        (version, comment), = self.query("SELECT VERSION(), @@version_comment")
        return identity_from(version, comment)

    # databases ------------------------------------------------------------
    def create_database(self, name: str) -> None:
        self.query(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def list_databases(self) -> list[str]:
        system = {"information_schema", "mysql", "performance_schema", "sys"}
        return sorted(r[0] for r in self.query("SHOW DATABASES") if r[0] not in system)

    def delete_database(self, name: str) -> None:
        self.query(f"DROP DATABASE `{name}`")

    # users ----------------------------------------------------------------
    def create_user(self, name: str, password: str, databases: list[str],
                    host: str = "%") -> None:
        self.query("CREATE USER %s@%s IDENTIFIED BY %s", (name, host, password))
        for db in databases:
            self.grant(name, db, host)

    def grant(self, name: str, database: str, host: str = "%") -> None:
        self.query(f"GRANT ALL PRIVILEGES ON `{database}`.* TO %s@%s", (name, host))

    def revoke(self, name: str, database: str, host: str = "%") -> None:
        self.query(f"REVOKE ALL PRIVILEGES ON `{database}`.* FROM %s@%s", (name, host))

    def list_users(self) -> list[str]:
        hidden = {"root", "os_admin", "mariadb.sys", "mysql.sys", "mysql.session",
                  "mysql.infoschema", "replicator"}
        return sorted({r[0] for r in self.query("SELECT User FROM mysql.user")} - hidden)

    def delete_user(self, name: str, host: str = "%") -> None:
        self.query("DROP USER %s@%s", (name, host))

    # data -----------------------------------------------------------------
    def write_items(self, items: dict[str, str]) -> None:
        self.query(f"CREATE TABLE IF NOT EXISTS {ITEMS_TABLE} "
                   "(k VARCHAR(64) PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB")
        with self.conn.cursor() as cur:
            cur.executemany(f"REPLACE INTO {ITEMS_TABLE} (k, v) VALUES (%s, %s)",
                            list(items.items()))

    def read_items(self) -> dict[str, str]:
        return dict(self.query(f"SELECT k, v FROM {ITEMS_TABLE} ORDER BY k"))


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> MariaDBClient:
    return MariaDBClient(host, port, creds, database, timeout)


class MariaDBServer(CapabilityOps, Server):
    engine = ENGINE
    default_port = 3306

    @property
    def base(self) -> str:
        return self.runtime.data_root

    @property
    def config_file(self) -> str:
        return f"{self.base}/my.cnf"

    def _config(self) -> str:
        b = self.base
        pool_mb = max(16, self.memory_mb // 4)
        lines = [
            "[mysqld]",
            f"datadir={b}/data",
            f"socket={b}/run/mysqld.sock",
            f"pid-file={b}/run/mysqld.pid",
            f"port={self.port}",
            f"bind-address={self.runtime.bind_address}",
            f"log-error={b}/log/error.log",
            f"general_log_file={b}/log/general.log",
            f"slow_query_log_file={b}/log/slow.log",
            f"innodb_buffer_pool_size={pool_mb}M",
            "skip-name-resolve",
            "innodb_flush_log_at_trx_commit=2",
        ]
        lines += [f"{k}={v}" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"

    def _bootstrap_sql(self) -> str:
        # Runs before the server accepts connections: no window in which an
        # anonymous or password-less account is reachable.
        return (
            "DELETE FROM mysql.global_priv WHERE User='' "
            "OR (User='root' AND Host<>'localhost');\n"
            "FLUSH PRIVILEGES;\n"
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{self.root_password}';\n"
            f"CREATE USER '{self.admin.user}'@'%' IDENTIFIED BY '{self.admin.password}';\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.admin.user}'@'%' WITH GRANT OPTION;\n"
        )

    def initialise(self) -> None:
        b = self.base
        self.runtime.make_dirs(f"{b}/data", f"{b}/run", f"{b}/log", f"{b}/tmp")
        self.runtime.write_file(self.config_file, self._config(), mode=0o600)
        self.runtime.run(["mariadb-install-db", f"--defaults-file={self.config_file}",
                          "--auth-root-authentication-method=normal", "--skip-test-db"],
                         timeout=self.timeouts.command)
        self.root_password = random_password()
        self.runtime.write_file(f"{b}/init.sql", self._bootstrap_sql(), mode=0o600)
        self._initialised = True

    def start(self) -> None:
        if not getattr(self, "_initialised", False):
            self.initialise()
            extra = [f"--init-file={self.base}/init.sql"]
        else:
            self.runtime.write_file(self.config_file, self._config(), mode=0o600)
            extra = []
        self.process = self.runtime.spawn(
            ["mariadbd", f"--defaults-file={self.config_file}", *extra],
            log_file=f"{self.base}/log/console.log")
        wait_for(self.ping, timeout=self.timeouts.engine_start,
                 what=f"MariaDB on {self.runtime.address}:{self.port}", alive=self.running)
        init = self.runtime.path(f"{self.base}/init.sql")
        if init.exists():
            init.unlink()

    def ping(self) -> bool:
        with self.client() as c:
            return c.query("SELECT 1") == [(1,)]

    def client(self, database: str | None = None) -> MariaDBClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def identity(self) -> Identity:
        with self.client() as c:
            return c.identity()

    def log_files(self) -> dict[str, Path]:
        logs = {"error": "error.log", "general": "general.log", "slow_query": "slow.log"}
        return {name: self.runtime.path(f"{self.base}/log/{f}") for name, f in logs.items()}

    def check_started(self) -> None:
        if not self.running():
            raise EngineError("MariaDB is not running")


SERVER = MariaDBServer
