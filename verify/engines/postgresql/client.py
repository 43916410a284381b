"""PostgreSQL's client (psycopg) and how a server identifies itself."""

from __future__ import annotations

import re

import psycopg
from psycopg import sql

from verify.engines.base import Client, Credentials, Identity

ENGINE = "postgresql"
ITEMS_TABLE = "verify_items"
ROOT_USER = "postgres"          # Trove's PostgreSQL root user
REPLICATION_USER = "replicator"
SYSTEM_DATABASES = ("postgres", "template0", "template1")
INTERNAL_ROLES = ("os_admin", ROOT_USER, REPLICATION_USER)

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
