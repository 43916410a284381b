"""Redis's client (redis-py), its identity, and the ACL lines the server's
users file holds (the admin's password only as a SHA-256 hash)."""

from __future__ import annotations

import hashlib

import redis as redis_py
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from verify.engines.base import Client, Credentials, Identity

ENGINE = "redis"
# waits are bounded by the caller's wait_for; a refused login must fail at once
# (redis-py retries connection errors, authentication errors among them)
NO_RETRY = Retry(NoBackoff(), 0)
ITEM_PREFIX = "verify:item:"
INTERNAL_USERS = ("default", "os_admin", "replicator")


def identity_from(info: dict) -> Identity:
    """Identity from INFO server. Valkey answers Redis's INFO fields too, but
    names itself in server_name / valkey_version."""
    if "valkey_version" in info or str(info.get("server_name", "")).lower() == "valkey":
        return Identity(name="valkey", version=str(info.get("valkey_version",
                                                            info.get("redis_version", ""))))
    name = str(info.get("server_name", "redis")).lower() or "redis"
    build = f"build {info['redis_build_id']}" if info.get("redis_build_id") else ""
    return Identity(name=name, version=str(info.get("redis_version", "")), distribution=build)


def acl_line(user: str, password: str, rules: str = "~* &* +@all") -> str:
    digest = hashlib.sha256(password.encode()).hexdigest()
    return f"user {user} on #{digest} {rules}"


def other_users(acl_lines: list[str], admin: str) -> list[str]:
    """ACL file lines of users other than the built-in ones, last one wins."""
    users: dict[str, str] = {}
    for line in acl_lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "user" and \
                words[1] not in ("default", admin, "replicator"):
            users[words[1]] = line.strip()
    return list(users.values())


class RedisClient(Client):
    def __init__(self, host: str, port: int, creds: Credentials, database: str | None = None,
                 timeout: float = 10.0):
        db = int(database) if database and str(database).isdigit() else 0
        self.conn = redis_py.Redis(host=host, port=port, username=creds.user,
                                   password=creds.password, db=db, socket_timeout=timeout * 6,
                                   socket_connect_timeout=timeout, decode_responses=True,
                                   retry=NO_RETRY)
        self.conn.ping()
        self.host, self.port, self.creds, self.timeout = host, port, creds, timeout
        self._cluster: RedisCluster | None = None
        self._cluster_mode: bool | None = None

    @property
    def cluster(self) -> RedisCluster | None:
        """On a cluster node, data goes through a cluster-aware client (follows
        MOVED); made on first use, as a node answers before slots are assigned."""
        if self._cluster_mode is None:
            self._cluster_mode = bool(int(self.conn.info("cluster").get("cluster_enabled", 0)))
        if self._cluster_mode and self._cluster is None:
            self._cluster = RedisCluster(host=self.host, port=self.port,
                                         username=self.creds.user,
                                         password=self.creds.password, decode_responses=True,
                                         socket_timeout=self.timeout * 6,
                                         socket_connect_timeout=self.timeout)
        return self._cluster

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
        self.conn.close()

    def identity(self) -> Identity:
        return identity_from(self.conn.info("server"))

    def write_items(self, items: dict[str, str]) -> None:
        data = {ITEM_PREFIX + k: v for k, v in items.items()}
        cluster = self.cluster
        if cluster is not None:
            cluster.mset_nonatomic(data)
        else:
            self.conn.mset(data)

    def read_items(self) -> dict[str, str]:
        cluster = self.cluster
        source = cluster if cluster is not None else self.conn
        keys = sorted(source.scan_iter(match=ITEM_PREFIX + "*", count=1000))
        if not keys:
            return {}
        values = cluster.mget_nonatomic(keys) if cluster is not None else self.conn.mget(keys)
        return {k[len(ITEM_PREFIX):]: v for k, v in zip(keys, values, strict=True) if v is not None}


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> RedisClient:
    return RedisClient(host, port, creds, database, timeout)
