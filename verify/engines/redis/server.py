"""Redis from Debian packages: launch, probe with redis-py, identify, operate.

The server gets a generated config: bound to the guest address, protected
mode on, users in an ACL file (the default user is off; the harness's admin
is an ACL user whose password is stored only as a SHA-256 hash).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import redis as redis_py
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from verify.engines.base import Client, Credentials, Identity, Server, wait_for
from verify.engines.postgresql.upgrade import redis_upgrade_to
from verify.engines.redis.cluster import RedisClusterOps
from verify.engines.redis.ops import RedisOps
from verify.errors import EngineError

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


class RedisServer(RedisClusterOps, RedisOps, Server):
    engine = ENGINE
    default_port = 6379
    upgrade_to = redis_upgrade_to                 # verify/engines/_upgrade.py
    upgrade_needs_previous = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.cluster_enabled:
            self._pick_cluster_port()
        self.replica_of: tuple[str, int, Credentials] | None = None
        self.extra_acl: list[str] = []     # users carried over from a restored backup

    @property
    def cluster_enabled(self) -> bool:
        return str(self.settings.get("cluster-enabled", "no")) == "yes"

    def _pick_cluster_port(self) -> None:
        # the cluster bus listens on port + 10000: both must be free
        for _ in range(50):
            if self.port + 10000 <= 65535 and self.runtime.port_free(self.port + 10000):
                return
            self.port = self.runtime.free_port()
        raise EngineError("no free port pair (port, port+10000) for a Redis cluster node")

    # paths ------------------------------------------------------------------

    @property
    def data(self) -> str:
        return f"{self.base}/data"

    @property
    def config_file(self) -> str:
        return f"{self.base}/redis.conf"

    @property
    def acl_file(self) -> str:
        return f"{self.base}/users.acl"

    def default_maxmemory(self) -> int:
        return self.memory_setting_mb(self.memory_mb) * 1024 * 1024

    def _config(self) -> str:
        lines = [
            f"bind {self.runtime.bind_address}",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            f"dir {self.data}",
            "dbfilename dump.rdb",
            # an RDB restore is only read when the AOF is off
            "appendonly no",
            f"aclfile {self.acl_file}",
            f"logfile {self.base}/log/redis.log",
            f"pidfile {self.base}/run/redis.pid",
            f"unixsocket {self.base}/run/redis.sock",
            "unixsocketperm 700",
            f"maxmemory {self.default_maxmemory()}",
            "maxmemory-policy noeviction",
            "repl-diskless-sync-delay 0",
            "replica-read-only yes",
            "slowlog-log-slower-than 10000",
        ]
        if self.cluster_enabled:
            lines += ["cluster-config-file nodes.conf", "cluster-node-timeout 5000"]
        if self.replica_of:
            host, port, creds = self.replica_of
            lines += [f"masteruser {creds.user}", f"masterauth {creds.password}",
                      f"replicaof {host} {port}"]
        lines += [f"{k} {v}" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"

    def _acl(self) -> str:
        lines = ["user default off resetkeys resetchannels -@all",
                 acl_line(self.admin.user, self.admin.password)]
        repl = getattr(self, "_repl", None)
        if repl:
            lines.append(acl_line(repl.user, repl.password, "+psync +replconf +ping"))
        return "\n".join(lines + self.extra_acl) + "\n"

    # lifecycle --------------------------------------------------------------
    def start(self) -> None:
        if self.running():
            return
        self.runtime.make_dirs(self.data, f"{self.base}/log", f"{self.base}/run")
        acl = self.runtime.path(self.acl_file)
        if acl.exists():      # users made with ACL SETUSER + ACL SAVE survive a restart
            self.extra_acl = other_users(acl.read_text().splitlines() + self.extra_acl,
                                         self.admin.user)
        # the config holds masterauth in clear: readable by the service user only
        self.runtime.write_file(self.config_file, self._config(), mode=0o600)
        self.runtime.write_file(self.acl_file, self._acl(), mode=0o600)
        self.process = self.runtime.spawn(["redis-server", self.config_file],
                                          log_file=f"{self.base}/log/console.log")
        wait_for(self.ping, timeout=self.timeouts.engine_start,
                 what=f"Redis on {self.runtime.address}:{self.port}", alive=self.running)

    def ping(self) -> bool:
        with self.client() as c:
            return c.conn.ping()

    def client(self, database: str | None = None) -> RedisClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def identity(self) -> Identity:
        with self.client() as c:
            return c.identity()

    def log_files(self) -> dict[str, Path]:
        return {"general": self.runtime.path(f"{self.base}/log/redis.log")}

    def check_started(self) -> None:
        if not self.running():
            raise EngineError("Redis is not running")

    def memory_setting_mb(self, memory_mb: int) -> int:
        # maxmemory: half the flavor, the rest for forks (BGSAVE, full sync)
        return max(32, memory_mb // 2)

    def boot_id(self) -> str:
        with self.client() as c:
            return str(c.conn.info("server")["run_id"])

    def memory_in_effect_mb(self) -> int:
        with self.client() as c:
            return int(c.conn.config_get("maxmemory")["maxmemory"]) // (1024 * 1024)


SERVER = RedisServer
