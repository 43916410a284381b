"""MariaDB from Debian packages (galera clusters, mariabackup, GTID replication)."""

from verify.engines import Engine
from verify.engines.mariadb.client import connect
from verify.engines.mariadb.server import MariaDBServer

ENGINE = Engine(name="mariadb", server=MariaDBServer, connect=connect, identities=("mariadb",))

__all__ = ["ENGINE"]
