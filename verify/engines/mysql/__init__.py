"""Oracle MySQL (Debian sid packages, or a user's own mysqld)."""

from verify.engines import Engine
from verify.engines.mysql.client import connect
from verify.engines.mysql.server import MySQLServer, host_unavailable

ENGINE = Engine(name="mysql", server=MySQLServer, connect=connect, identities=("mysql",),
                # XCom and performance_schema do not fit a 512 MB guest
                cluster_flavor="medium", host_unavailable=host_unavailable)

__all__ = ["ENGINE"]
