"""The client the MySQL-family engines share (PyMySQL)."""

from __future__ import annotations

import pymysql

from verify.engines.base import Client, Credentials, Identity

ITEMS_TABLE = "verify_items"


class MySQLFamilyClient(Client):
    """PyMySQL: MariaDB, MySQL and Percona speak one protocol and one SQL for
    what the harness asks. Subclasses say how VERSION() identifies them."""

    @staticmethod
    def identify(version: str, comment: str) -> Identity:
        raise NotImplementedError

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
        return self.identify(version, comment)

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
