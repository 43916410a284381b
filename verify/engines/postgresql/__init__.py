"""PostgreSQL from Debian packages (pg_basebackup, streaming replication, pg_upgrade)."""

from verify.engines import Engine
from verify.engines.postgresql.client import connect
from verify.engines.postgresql.server import PostgreSQLServer

ENGINE = Engine(name="postgresql", server=PostgreSQLServer, connect=connect,
                identities=("postgresql",))

__all__ = ["ENGINE"]
