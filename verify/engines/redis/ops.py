"""Redis configuration groups, RDB backups and sync replication.

Mixed into verify.engines.redis.server.RedisServer (kept apart to keep each module
small). Strategies: redis_rdb (BGSAVE, then the RDB file and the ACL file:
users are not in the RDB), redis_sync (REPLICAOF with an ACL replication user).
"""

from __future__ import annotations

from pathlib import Path

from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.capabilities import (
    Backup,
    CapabilityOps,
    ConfigRule,
    ConfigurationRejected,
    apply_values,
    remove_values,
    validate_configuration,
)
from verify.engines.redis.client import other_users
from verify.errors import EngineError, NotSupported

RDB, SYNC = "redis_rdb", "redis_sync"
_BIG = 2 ** 62   # bytes: beyond any real memory, within Redis's signed 64 bits

# As in Trove's validation-rules.json for Redis: name, type, bounds, dynamic.
CONFIG_RULES = {r.name: r for r in (
    ConfigRule("maxmemory", "integer", True, 0, _BIG),
    ConfigRule("maxmemory-policy", "string", True),
    ConfigRule("maxmemory-samples", "integer", True, 1, 64),
    ConfigRule("timeout", "integer", True, 0, 2 ** 31 - 1, example=300),
    ConfigRule("tcp-keepalive", "integer", True, 0, 2 ** 31 - 1),
    ConfigRule("hz", "integer", True, 1, 500, example=20),
    ConfigRule("maxclients", "integer", True, 1, 65000),
    ConfigRule("appendonly", "boolean", True),
    ConfigRule("slowlog-log-slower-than", "integer", True, -1, _BIG),
    ConfigRule("slowlog-max-len", "integer", True, 0, _BIG),
    ConfigRule("databases", "integer", False, 1, 2 ** 31 - 1, example=32),
    ConfigRule("io-threads", "integer", False, 1, 128),
)}
# values in effect when a configuration group no longer sets them
DEFAULTS = {"maxmemory-policy": "noeviction", "maxmemory-samples": "5", "timeout": "0",
            "tcp-keepalive": "300", "hz": "10", "maxclients": "10000", "appendonly": "no",
            "slowlog-log-slower-than": "10000", "slowlog-max-len": "128", "databases": "16",
            "io-threads": "1"}
_POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
             "volatile-lfu", "volatile-random", "volatile-ttl")


def redis_value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return {"on": "yes", "true": "yes", "off": "no", "false": "no"}.get(text.lower(), text)


class RedisOps(CapabilityOps):
    CONFIG_RULES = CONFIG_RULES
    REPLICA_SEED = RDB

    # configuration groups ---------------------------------------------------
    def apply_configuration(self, values: dict[str, object]) -> bool:
        values = validate_configuration(CONFIG_RULES, values, engine="Redis")
        policy = values.get("maxmemory-policy")
        if policy is not None and policy not in _POLICIES:
            raise ConfigurationRejected(f"value {policy!r} is not one of "
                                        f"{', '.join(_POLICIES)}",
                                        where="configuration parameter maxmemory-policy")
        def store(name: str, value: object) -> str:
            self.settings[name] = redis_value(value)
            return self.settings[name]

        with self.client() as c:
            restart = apply_values(CONFIG_RULES, values, store, c.conn.config_set)
        if restart:
            self.restart()
        return restart

    def remove_configuration(self, names: list[str]) -> bool:
        def forget(name: str) -> bool:
            self.settings.pop(name, None)
            return name in CONFIG_RULES

        def default(name: str) -> str:
            return str(self.default_maxmemory()) if name == "maxmemory" else DEFAULTS[name]

        with self.client() as c:
            restart = remove_values(CONFIG_RULES, names, forget,
                                    lambda name: c.conn.config_set(name, default(name)))
        if restart:
            self.restart()
        return restart

    def setting(self, name: str) -> str:
        with self.client() as c:
            found = c.conn.config_get(name)
        if name not in found:
            raise EngineError(f"Redis has no setting {name!r}")
        return str(found[name])

    # backup and restore -----------------------------------------------------
    def _as_root(self, argv: list[str]) -> None:
        self.runtime.run(argv, timeout=self.timeouts.command, as_root=True)

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if strategy != RDB:
            raise NotSupported(f"Redis has no backup strategy {strategy!r}")
        if parent is not None:
            raise NotSupported("Redis RDB backups are always full")
        self.runtime.make_dirs(str(dest))
        with self.client() as c:
            before = int(c.conn.info("persistence")["rdb_last_save_time"])
            c.conn.bgsave()

            def saved() -> bool:
                info = c.conn.info("persistence")
                if info["rdb_bgsave_in_progress"]:
                    return False
                if info["rdb_last_bgsave_status"] != "ok":
                    raise EngineError("Redis BGSAVE failed (see the Redis log)")
                return int(info["rdb_last_save_time"]) >= before
            wait_for(saved, timeout=self.timeouts.command, what="Redis BGSAVE",
                     alive=self.running)
            keys = c.conn.dbsize()
            c.conn.acl_save()
        self._as_root(["cp", f"{self.data}/dump.rdb", str(dest / "dump.rdb")])
        self._as_root(["cp", self.acl_file, str(dest / "users.acl")])
        # ACL users travel in users.acl, the admin's password (only hashed there) in meta
        return Backup(strategy, dest, meta={"keys": keys, "admin": self.admin})

    def restore(self, backup: Backup) -> None:
        if backup.strategy != RDB:
            raise NotSupported(f"Redis cannot restore a {backup.strategy} backup")
        if self.running():
            self.stop()
        self.runtime.make_dirs(self.data)
        target = f"{self.data}/dump.rdb"
        self._as_root(["cp", str(backup.path / "dump.rdb"), target])
        self._as_root(["chown", f"--reference={self.data}", target])
        # keep the backup's own users; this server has its own admin
        if isinstance(backup.meta.get("admin"), Credentials):
            self.admin = backup.meta["admin"]
        acl = self.runtime.path(str(backup.path / "users.acl")).read_text()
        self.extra_acl = other_users(acl.splitlines(), self.admin.user)
        self.start()

    # replication ------------------------------------------------------------
    def _replication_credentials(self) -> Credentials:
        creds = getattr(self, "_repl", None)
        if creds is None:
            creds = Credentials("replicator", random_password())
            with self.client() as c:
                c.conn.acl_setuser(creds.user, enabled=True, passwords=[f"+{creds.password}"],
                                   commands=["+psync", "+replconf", "+ping"], reset=True)
                c.conn.acl_save()
            self._repl = creds
        return creds

    def attach_replica(self, replica, strategy: str, backup: Backup) -> None:
        if strategy != SYNC:
            raise NotSupported(f"Redis has no replication strategy {strategy!r}")
        if backup.strategy == RDB and not replica.running():
            replica.restore(backup)
        replica.start()
        replica.follow(self, strategy)

    def follow(self, primary, strategy: str) -> None:
        if strategy != SYNC:
            raise NotSupported(f"Redis has no replication strategy {strategy!r}")
        creds = primary._replication_credentials()
        self.replica_of = (primary.runtime.address, primary.port, creds)
        with self.client() as c:
            c.conn.config_set("masteruser", creds.user)
            c.conn.config_set("masterauth", creds.password)
            c.conn.replicaof(primary.runtime.address, primary.port)
        wait_for(lambda: self.replication_caught_up(primary),
                 timeout=self.timeouts.replication, what="Redis replica sync", alive=self.running)

    def promote(self) -> None:
        with self.client() as c:
            c.conn.replicaof("NO", "ONE")
            c.conn.config_set("masterauth", "")
        self.replica_of = None

    detach = promote

    def replication_position(self) -> str:
        with self.client() as c:
            info = c.conn.info("replication")
        offset = info.get("slave_repl_offset", info.get("master_repl_offset", 0))
        return f"{int(offset):020d}"

    def read_only(self) -> bool:
        with self.client() as c:
            role = c.conn.info("replication")["role"]
            ro = c.conn.config_get("replica-read-only")["replica-read-only"]
        return role == "slave" and ro == "yes"

    def replication_caught_up(self, primary) -> bool:
        with primary.client() as p:
            target = int(p.conn.info("replication")["master_repl_offset"])
        with self.client() as c:
            info = c.conn.info("replication")
        if info.get("master_link_status") != "up" or info.get("master_sync_in_progress"):
            return False
        return int(info.get("slave_repl_offset", -1)) >= target
