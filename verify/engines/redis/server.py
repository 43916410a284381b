"""Redis from Debian packages: launch, probe with redis-py, identify, operate.

The server gets a generated config: bound to the guest address, protected
mode on, users in an ACL file (the default user is off; the harness's admin
is an ACL user whose password is stored only as a SHA-256 hash).
"""

from __future__ import annotations

from pathlib import Path

from verify.engines.base import Credentials, Server, wait_for
from verify.engines.redis.client import ENGINE, RedisClient, acl_line, connect, other_users
from verify.engines.redis.cluster import RedisClusterOps
from verify.engines.redis.ops import RedisOps
from verify.errors import EngineError


class RedisServer(RedisClusterOps, RedisOps, Server):
    engine = ENGINE
    default_port = 6379
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

    def upgrade_to(self, version: str) -> None:
        """Redis reads an older RDB at start: start the new binary on the data
        (the guest already runs the new version's image over the old volume)."""
        self.version = version
        self.start()

    def ping(self) -> bool:
        with self.client() as c:
            return c.conn.ping()

    def client(self, database: str | None = None) -> RedisClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def log_files(self) -> dict[str, Path]:
        return {"general": self.runtime.path(f"{self.base}/log/redis.log")}

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
