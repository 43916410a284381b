"""Apache Cassandra 5.0 from Maven Central's jars: one bounded JVM per node,
probed and operated through cassandra-driver (keyspaces are Trove's
databases, roles its users)."""

from __future__ import annotations

import random
import re
import threading
from pathlib import Path

import yaml

from verify.engines.base import (
    Credentials,
    Server,
    free_port,
    port_bindable,
    random_password,
    wait_for,
)
from verify.engines.capabilities import CapabilityOps, ClientGrants, ConfigRule
from verify.engines.cassandra import runtime as rt
from verify.engines.cassandra.client import ENGINE, CassandraClient, connect, cql_name
from verify.engines.cassandra.ops import ClusterOps, SnapshotOps
from verify.errors import EngineError

# Process guests share the host's loopback; nodes of one cluster need distinct
# addresses with one storage port, so each node takes its own 127.0.0.N.
_claimed: set[str] = set()
_claim_lock = threading.Lock()


def claim_loopback() -> str:
    with _claim_lock:
        for n in random.sample(range(2, 255), 253):
            address = f"127.0.{random.randint(0, 255)}.{n}"
            if address not in _claimed and port_bindable(address, 0):
                _claimed.add(address)
                return address
    raise EngineError("no free loopback address for a Cassandra node")


def _rule(name: str, type_: str, lo: float | None, hi: float | None, example) -> ConfigRule:
    rule = ConfigRule(name=name, type=type_, dynamic=False, min=lo, max=hi)
    if hasattr(rule, "example"):
        object.__setattr__(rule, "example", example)
    return rule


# cassandra.yaml settings a configuration group may set; applied by restart,
# read back from system_views.settings.
CONFIG_RULES = {r.name: r for r in (
    _rule("concurrent_reads", "integer", 2, 256, 16),
    _rule("concurrent_writes", "integer", 2, 256, 24),
    _rule("concurrent_counter_writes", "integer", 2, 256, 16),
    _rule("tombstone_warn_threshold", "integer", 1, 1_000_000, 2000),
    _rule("tombstone_failure_threshold", "integer", 1, 10_000_000, 200_000),
    _rule("hinted_handoff_enabled", "boolean", None, None, False),
    _rule("incremental_backups", "boolean", None, None, True),
)}


class CassandraServer(SnapshotOps, ClusterOps, Server, ClientGrants, CapabilityOps):
    engine = ENGINE
    default_port = 9042
    CONFIG_RULES = CONFIG_RULES

    def __init__(self, runtime, **kwargs):
        if runtime.address.startswith("127."):
            runtime.address = runtime.bind_address = claim_loopback()
        super().__init__(runtime, **kwargs)
        self.storage_port = runtime.free_port()
        self.jmx_port = free_port("127.0.0.1")
        self.seeds: list[str] = [runtime.address]
        self.cluster_name = f"verify_{random_password(6).lower()}"
        self.auto_bootstrap = False
        self.simultaneous_join = False    # several empty nodes bootstrapping at once
        self.join_later = False           # start outside the ring; `nodetool join` later
        self.num_tokens = 16
        self.initial_tokens: list[int] = []
        self._initialised = False
        self.env: rt.JavaEnv | None = None

    # layout --------------------------------------------------------------------

    @property
    def heap_mb(self) -> int:
        return self.memory_setting_mb(self.memory_mb)

    def memory_setting_mb(self, memory_mb: int) -> int:
        # bounded both ways: small enough for 4 nodes on a test host, big
        # enough that Cassandra's own structures fit
        return max(256, min(memory_mb // 2, 1024))

    def _yaml(self) -> str:
        b, addr = self.base, self.runtime.bind_address
        conf = {
            "cluster_name": self.cluster_name,
            "num_tokens": self.num_tokens,
            "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
            "endpoint_snitch": "SimpleSnitch",
            "listen_address": addr, "rpc_address": addr,
            "storage_port": self.storage_port, "native_transport_port": self.port,
            "start_native_transport": True,
            "seed_provider": [{"class_name": "org.apache.cassandra.locator.SimpleSeedProvider",
                               "parameters": [{"seeds": ",".join(
                                   f"{s}:{self.storage_port}" for s in self.seeds)}]}],
            "data_file_directories": [f"{b}/data"],
            "commitlog_directory": f"{b}/commitlog",
            "hints_directory": f"{b}/hints",
            "saved_caches_directory": f"{b}/saved_caches",
            "cdc_raw_directory": f"{b}/cdc_raw",
            "commitlog_sync": "periodic", "commitlog_sync_period": "10000ms",
            "authenticator": "PasswordAuthenticator",
            "authorizer": "CassandraAuthorizer",
            "role_manager": "CassandraRoleManager",
            # grants and revokes take effect at once (the scenarios check them)
            "roles_validity": "0ms", "permissions_validity": "0ms",
            "credentials_validity": "0ms",
            # logins keep working while cluster nodes join and leave
            "auth_read_consistency_level": "LOCAL_ONE",
            "auth_write_consistency_level": "ONE",
            "auto_snapshot": False,         # test keyspaces are dropped, not kept
            "auto_bootstrap": self.auto_bootstrap,
            "concurrent_compactors": 1,
            "file_cache_size": "32MiB", "key_cache_size": "8MiB",
            "memtable_heap_space": f"{max(32, self.heap_mb // 8)}MiB",
            "memtable_offheap_space": "32MiB",
        }
        if self.initial_tokens:
            conf["initial_token"] = ",".join(map(str, self.initial_tokens))
        else:   # balanced for three replicas, as keyspaces here use
            conf["allocate_tokens_for_local_replication_factor"] = 3
        conf.update(self.settings)
        return yaml.safe_dump(conf, sort_keys=False)

    def _logback(self) -> str:
        return f"""<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.FileAppender">
    <file>{self.base}/log/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="SYSTEMLOG"/></root>
</configuration>
"""

    def _props(self) -> dict[str, str]:
        b = self.base
        return {"cassandra.config": f"file://{b}/conf/cassandra.yaml",
                "logback.configurationFile": f"{b}/conf/logback.xml",
                "cassandra.logdir": f"{b}/log", "cassandra.storagedir": f"{b}/data",
                "cassandra.jmx.local.port": str(self.jmx_port),
                "java.io.tmpdir": f"{b}/tmp", **rt.FAST_START_PROPERTIES,
                "cassandra.ring_delay_ms": str(rt.RING_DELAY_MS[
                    "joining" if self.auto_bootstrap else "alone"]),
                "cassandra.consistent.rangemovement": str(not self.simultaneous_join).lower(),
                **({"cassandra.join_ring": "false"} if self.join_later else {})}

    def write_config(self) -> None:
        b = self.base
        self.runtime.make_dirs(*(f"{b}/{d}" for d in (
            "conf", "data", "commitlog", "hints", "saved_caches", "cdc_raw", "log", "tmp")))
        self.runtime.write_file(f"{b}/conf/cassandra.yaml", self._yaml(), mode=0o600)
        self.runtime.write_file(f"{b}/conf/logback.xml", self._logback(), mode=0o644)

    # lifecycle ---------------------------------------------------------------
    def launch(self) -> None:
        """Start the JVM without waiting for it."""
        self.env = self.env or rt.locate(self.runtime.path)
        self.write_config()
        self.process = self.runtime.spawn(
            rt.jvm_argv(self.env, self.heap_mb, self._props(),
                        "org.apache.cassandra.service.CassandraDaemon"),
            log_file=f"{self.base}/log/console.log")

    def start(self) -> None:
        self.launch()
        if self._initialised:
            self.wait_ready(self.admin)
            return
        # First start: the default cassandra/cassandra superuser answers on
        # this private address only until it is replaced by a random admin.
        self.wait_ready(Credentials("cassandra", "cassandra"))
        self.replace_default_superuser()
        self._initialised = True

    def wait_ready(self, creds: Credentials, timeout: float | None = None) -> None:
        def ready() -> bool:
            with connect(self.runtime.address, self.port, creds, timeout=5) as c:
                return bool(c.query("SELECT release_version FROM system.local"))
        wait_for(ready, timeout=timeout or self.timeouts.engine_start, interval=0.5,
                 what=f"Cassandra on {self.runtime.address}:{self.port}", alive=self.running)

    def replace_default_superuser(self) -> None:
        with connect(self.runtime.address, self.port, Credentials("cassandra", "cassandra")) as c:
            c.create_user(self.admin.user, self.admin.password, [], superuser=True)
        with self.client() as c:
            c.delete_user("cassandra")

    def ping(self) -> bool:
        with self.client() as c:
            return bool(c.query("SELECT now() FROM system.local"))

    def client(self, database: str | None = None) -> CassandraClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def boot_id(self) -> str:
        with self.client() as c:
            (gen,), = c.query("SELECT gossip_generation FROM system.local")
        return str(gen)

    def log_files(self) -> dict[str, Path]:
        logs = {"system": "system.log", "console": "console.log"}
        return {name: self.runtime.path(f"{self.base}/log/{f}") for name, f in logs.items()}

    # root ----------------------------------------------------------------------
    def enable_root(self) -> Credentials:
        creds = Credentials("root", random_password())
        with self.client() as c:
            if "root" in {r[0] for r in c.query("SELECT role FROM system_auth.roles")}:
                c.query("ALTER ROLE root WITH PASSWORD = %s AND LOGIN = true "
                        "AND SUPERUSER = true", (creds.password,))
            else:
                c.create_user("root", creds.password, [], superuser=True)
        return creds

    def root_enabled(self) -> bool:
        with self.client() as c:
            rows = c.query("SELECT can_login, is_superuser FROM system_auth.roles "
                           "WHERE role = 'root'")
        return bool(rows and rows[0][0] and rows[0][1])

    def disable_root(self) -> None:
        with self.client() as c:
            c.query("DROP ROLE IF EXISTS root")

    # users beyond create/list/delete -------------------------------------------
    def change_password(self, user: str, password: str) -> None:
        with self.client() as c:
            c.query(f"ALTER ROLE {cql_name(user)} WITH PASSWORD = %s", (password,))

    def list_access(self, user: str) -> list[str]:
        with self.client() as c:
            return c.access(user)

    # configuration ---------------------------------------------------------------
    def config_rules(self) -> dict[str, ConfigRule]:
        return dict(CONFIG_RULES)

    def apply_configuration(self, values: dict[str, object]) -> bool:
        self.settings.update(values)
        self.restart()
        return True

    def remove_configuration(self, names: list[str]) -> bool:
        for name in names:
            self.settings.pop(name, None)
        self.restart()
        return True

    def setting(self, name: str) -> str:
        with self.client() as c:
            rows = c.query("SELECT value FROM system_views.settings WHERE name = %s",
                           (name,))
        if not rows:
            raise EngineError(f"Cassandra reports no setting {name!r}")
        return str(rows[0][0])

    def memory_in_effect_mb(self) -> int:
        out = self.nodetool("info")
        match = re.search(r"Heap Memory \(MB\)\s*:\s*[\d.]+\s*/\s*([\d.]+)", out)
        if not match:
            raise EngineError("nodetool info did not report the heap size")
        return round(float(match.group(1)))

    def nodetool(self, *args: str, timeout: float | None = None) -> str:
        """Cassandra's NodeTool from the same jars, over this node's local JMX."""
        self.env = self.env or rt.locate(self.runtime.path)
        argv = rt.jvm_argv(self.env, 128, {"logback.configurationFile":
                                           f"{self.base}/conf/logback-tool.xml"},
                           "org.apache.cassandra.tools.NodeTool", server=False)
        self.runtime.write_file(f"{self.base}/conf/logback-tool.xml",
                                '<configuration><root level="OFF"/></configuration>\n')
        proc = self.runtime.run([*argv, "-h", "127.0.0.1", "-p", str(self.jmx_port), *args],
                                timeout=timeout or self.timeouts.command, check=False)
        out = proc.stdout.decode(errors="replace")
        if proc.returncode != 0:
            said = (out + proc.stderr.decode(errors="replace")).strip().splitlines()
            lines = [ln for ln in said if not ln.startswith(("\tat ", "WARNING"))][-6:]
            raise EngineError(f"nodetool {' '.join(args)} on {self.runtime.address} exited "
                              f"{proc.returncode}: " + " | ".join(lines))
        return out


def missing_here(version: str | None = None) -> str | None:
    """Why no Cassandra node can start on this host (jars or JDK 17 absent)."""
    try:
        rt.check_host()
    except EngineError as exc:
        return f"cannot launch cassandra here: {exc}"
    return None


SERVER = CassandraServer
