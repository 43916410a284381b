"""Redis from Debian packages (RDB backups, sync replication, Redis Cluster)."""

from verify.engines import Engine
from verify.engines.redis.client import connect
from verify.engines.redis.server import RedisServer

ENGINE = Engine(name="redis", server=RedisServer, connect=connect, identities=("redis", "valkey"))

__all__ = ["ENGINE"]
