"""Cassandra through cassandra-driver: keyspaces are Trove's databases, roles
its users. Used by the engine and by scenarios for every data check."""

from __future__ import annotations

import re

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

from verify.engines.base import Client, Credentials, Identity
from verify.errors import EngineError

ENGINE = "cassandra"
ITEMS_TABLE = "verify_items"
DEFAULT_KEYSPACE = "verify_data"     # for writes without a named database
SYSTEM_KEYSPACES = {"system", "system_auth", "system_distributed", "system_schema",
                    "system_traces", "system_views", "system_virtual_schema"}
HIDDEN_ROLES = {"os_admin", "root"}
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


def cql_name(name: str) -> str:
    """Keyspace and role names go into CQL text: allow only plain identifiers."""
    if not NAME.match(name):
        raise EngineError(f"{name!r} is not a valid Cassandra name (letters, digits, _)")
    return name


class CassandraClient(Client):
    def __init__(self, host: str, port: int, creds: Credentials, database: str | None = None,
                 timeout: float = 10.0):
        # Only the given node coordinates: it routes to replicas itself, and the
        # harness checks exactly the node (or instance) it means to.
        profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]),
                                   consistency_level=ConsistencyLevel.QUORUM,
                                   request_timeout=timeout * 3)
        self.cluster = Cluster([host], port=port, protocol_version=5,
                               auth_provider=PlainTextAuthProvider(creds.user, creds.password),
                               execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                               connect_timeout=timeout, control_connection_timeout=timeout)
        try:
            self.session = self.cluster.connect()
        except Exception:
            self.cluster.shutdown()
            raise
        self.database = database

    def close(self) -> None:
        self.cluster.shutdown()

    def query(self, cql: str, args: tuple | list | None = None) -> list[tuple]:
        return [tuple(r) for r in self.session.execute(SimpleStatement(cql), args)]

    def identity(self) -> Identity:
        (version,), = self.query("SELECT release_version FROM system.local")
        return Identity(name=ENGINE, version=version, distribution="Apache Cassandra")

    def node_count(self) -> int:
        return 1 + len(self.query("SELECT peer FROM system.peers_v2"))

    # databases (keyspaces) -------------------------------------------------
    def create_database(self, name: str) -> None:
        rf = min(3, self.node_count())
        self.query(f"CREATE KEYSPACE {cql_name(name)} WITH replication = "
                   f"{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")

    def list_databases(self) -> list[str]:
        rows = self.query("SELECT keyspace_name FROM system_schema.keyspaces")
        return sorted(r[0] for r in rows if r[0] not in SYSTEM_KEYSPACES)

    def delete_database(self, name: str) -> None:
        self.query(f"DROP KEYSPACE {cql_name(name)}")

    # users (roles) ---------------------------------------------------------
    def create_user(self, name: str, password: str, databases: list[str],
                    superuser: bool = False) -> None:
        self.query(f"CREATE ROLE {cql_name(name)} WITH PASSWORD = %s AND LOGIN = true "
                   f"AND SUPERUSER = {str(superuser).lower()}", (password,))
        for db in databases:
            self.grant(name, db)

    def grant(self, name: str, database: str) -> None:
        self.query(f"GRANT ALL PERMISSIONS ON KEYSPACE {cql_name(database)} TO {cql_name(name)}")

    def revoke(self, name: str, database: str) -> None:
        self.query(f"REVOKE ALL PERMISSIONS ON KEYSPACE {cql_name(database)} "
                   f"FROM {cql_name(name)}")

    def access(self, name: str) -> list[str]:
        rows = self.query("SELECT resource FROM system_auth.role_permissions "
                          "WHERE role = %s", (name,))
        return sorted({r[0].split("/")[1] for r in rows if r[0].count("/") == 1})

    def list_users(self) -> list[str]:
        rows = self.query("SELECT role, can_login FROM system_auth.roles")
        return sorted(r[0] for r in rows if r[1] and r[0] not in HIDDEN_ROLES)

    def delete_user(self, name: str) -> None:
        self.query(f"DROP ROLE {cql_name(name)}")

    # data --------------------------------------------------------------------
    def _keyspace(self) -> str:
        if self.database:
            return cql_name(self.database)
        if DEFAULT_KEYSPACE not in self.list_databases():
            self.create_database(DEFAULT_KEYSPACE)
        return DEFAULT_KEYSPACE

    def write_items(self, items: dict[str, str]) -> None:
        ks = self._keyspace()
        self.query(f"CREATE TABLE IF NOT EXISTS {ks}.{ITEMS_TABLE} "
                   "(k text PRIMARY KEY, v text)")
        insert = self.session.prepare(f"INSERT INTO {ks}.{ITEMS_TABLE} (k, v) VALUES (?, ?)")
        for k, v in items.items():
            self.session.execute(insert, (k, v))

    def read_items(self) -> dict[str, str]:
        return dict(self.query(f"SELECT k, v FROM {self._keyspace()}.{ITEMS_TABLE}"))


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> CassandraClient:
    return CassandraClient(host, port, creds, database, timeout)
