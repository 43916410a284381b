"""MongoDB capabilities beyond users: configuration (setParameter online,
startup parameters with a restart), backup as a filesystem snapshot of an
fsyncLocked member, and replica sets grown and shrunk by replSetReconfig.

The wheels the harness installs carry mongod only: no mongos (so no sharded
cluster) and no MongoDB Database Tools (so mongodump/mongorestore run only
when the user has them, beside mongod or on PATH)."""

from __future__ import annotations

import secrets
import tarfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from verify.engines.base import Credentials, wait_for
from verify.engines.capabilities import (
    Backup,
    ConfigRule,
    apply_values,
    remove_values,
    validate_configuration,
)
from verify.errors import EngineError, NotSupported

FS_SNAPSHOT = "mongodb_fs_snapshot"
REPLICA_SET = "mongodb_replica_set"
SHARDED = "mongodb_sharded"
SET_NAME = "trove"
# files a snapshot leaves out: the lock of the running server, its metrics
SNAPSHOT_SKIP = {"mongod.lock", "diagnostic.data"}

# setParameter names; dynamic ones change online, the others at start-up
CONFIG_RULES = {r.name: r for r in (
    ConfigRule("cursorTimeoutMillis", "integer", True, min=1000, max=86_400_000,
               example=300000),
    ConfigRule("transactionLifetimeLimitSeconds", "integer", True, min=1, max=3600,
               example=120),
    ConfigRule("ttlMonitorSleepSecs", "integer", False, min=1, max=86400, example=30),
)}


class _RulesUnlessStandIn:
    """CONFIG_RULES as the backend reads it from the class: none when the
    stand-in runs (SecantusDB has no getParameter/setParameter), so the
    configuration scenarios skip there instead of failing."""

    def __get__(self, obj, owner) -> dict[str, ConfigRule]:
        from verify.engines.mongodb.standin import stand_in
        return {} if stand_in() else CONFIG_RULES


class ConfigOps:
    CONFIG_RULES = _RulesUnlessStandIn()

    def config_rules(self) -> dict[str, ConfigRule]:
        self.real_only("configuration groups")
        return dict(CONFIG_RULES)

    def _parameter(self, name: str):
        with self.client() as c:
            return c.admin("getParameter", 1, **{name: 1})[name]

    def setting(self, name: str) -> str:
        return str(self._parameter(name))

    def apply_configuration(self, values: dict[str, object]) -> bool:
        self.real_only("configuration groups")
        values = validate_configuration(CONFIG_RULES, values, engine="MongoDB")

        def store(name: str, value: object) -> object:
            # what to go back to on detach: the server's own value before us
            self._defaults.setdefault(name, self._parameter(name))
            self.settings[name] = value
            return value

        def set_online(name: str, value: object) -> None:
            with self.client() as c:
                c.admin("setParameter", 1, **{name: value})

        restart = apply_values(CONFIG_RULES, values, store, set_online)
        if restart:
            self.restart()
        return restart

    def remove_configuration(self, names: list[str]) -> bool:
        def forget(name: str) -> bool:
            return self.settings.pop(name, None) is not None and name in CONFIG_RULES

        def set_default(name: str) -> None:
            with self.client() as c:
                c.admin("setParameter", 1, **{name: self._defaults[name]})

        restart = remove_values(CONFIG_RULES, names, forget, set_default)
        if restart:
            self.restart()
        return restart

    def parameter_args(self) -> list[str]:
        return [a for n, v in self.settings.items() if n in CONFIG_RULES
                for a in ("--setParameter", f"{n}={v}")]


class SnapshotOps:
    """Backup: fsyncLock the member (writes flushed and blocked), archive its
    data directory, fsyncUnlock. Restore: lay the files into a new server's
    data directory before its first start. Users travel in admin, so the
    restored server keeps the backed-up service credentials."""

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if strategy == "mongodump":
            return self.dump_backup(dest)
        self.real_only(f"backup strategy {strategy}")
        if strategy != FS_SNAPSHOT or parent is not None:
            raise NotSupported(f"mongodb engine does not implement backup strategy "
                               f"{strategy}" + (" (incremental)" if parent else ""))
        data = self.runtime.path(f"{self.base}/data")
        host_dest = self.runtime.path(str(dest))
        host_dest.mkdir(parents=True, exist_ok=True)
        files = 0
        with self.client() as c:
            c.admin("fsync", lock=True)
            try:
                with tarfile.open(host_dest / "dbpath.tar.gz", "w:gz",
                                  compresslevel=1) as tar:
                    for f in sorted(data.rglob("*")):
                        rel = f.relative_to(data)
                        if f.is_file() and not SNAPSHOT_SKIP & set(rel.parts):
                            tar.add(f, arcname=str(rel))
                            files += 1
            finally:
                c.admin("fsyncUnlock")
            databases = c.list_databases()
        if not files:
            raise EngineError(f"the snapshot of {data} holds no files")
        return Backup(strategy=strategy, path=dest,
                      meta={"files": files, "databases": databases,
                            "engine_version": self.identity().version,
                            "admin_user": self.admin.user,
                            "admin_password": self.admin.password})

    def restore(self, backup: Backup) -> None:
        if backup.strategy == "mongodump":
            return self.dump_restore(backup)
        if backup.strategy != FS_SNAPSHOT:
            raise NotSupported(f"mongodb engine cannot restore from {backup.strategy}")
        archive = self.runtime.path(str(backup.path)) / "dbpath.tar.gz"
        if not archive.is_file():
            raise EngineError(f"backup {backup.path} holds no dbpath.tar.gz")
        self.runtime.make_dirs(f"{self.base}/data", f"{self.base}/log", f"{self.base}/run")
        staged = f"{self.base}/run/restore.tar.gz"
        self.runtime.path(staged).write_bytes(archive.read_bytes())
        self.runtime.path(staged).chmod(0o644)
        # extracted by the service user inside the guest, so it owns the files
        self.runtime.run(["tar", "-xzf", staged, "-C", f"{self.base}/data"],
                         timeout=self.timeouts.command)
        self.runtime.path(staged).unlink()
        self.admin = Credentials(backup.meta["admin_user"], backup.meta["admin_password"])
        self._initialised = True
        self.start()


def launch_all(nodes: Sequence, seed) -> None:
    """Start new members side by side (each start mostly waits on mongod)."""
    def one(node) -> None:
        node._join(seed)
        node._launch_member()
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        for done in [pool.submit(one, n) for n in nodes]:
            done.result()


class ReplicaSetOps:
    """A replica set: members share a key file and the service credentials;
    the first member creates the admin user, the others start empty and sync
    everything (users too) from the primary. Grow and shrink reconfigure one
    member at a time (MongoDB allows one voting change per reconfig)."""

    def member(self) -> str:
        return f"{self.runtime.address}:{self.port}"

    def _join(self, seed) -> None:
        """Before the first start: same set, key and credentials as seed."""
        self.replica_set = SET_NAME
        self.admin = seed.admin
        self.key = seed.key
        self._initialised = True        # users arrive by initial sync

    def _launch_member(self) -> None:
        self.runtime.make_dirs(f"{self.base}/data", f"{self.base}/log", f"{self.base}/run")
        self.write_key()
        self._launch(auth=True, bind=self.runtime.bind_address)

    def primary(self, members: Sequence) -> object:
        """The member that is primary now, as the members themselves say."""
        def find():
            for m in members:
                try:
                    with m.client() as c:
                        if c.admin("hello").get("isWritablePrimary"):
                            return m
                except Exception:     # a member may be down: ask the next one
                    continue
            return None
        return wait_for(find, timeout=self.timeouts.cluster, what="a PRIMARY in the set")

    def cluster_create(self, strategy: str, nodes: Sequence) -> None:
        self._no_sharding(strategy)
        self.real_only("replica sets")
        self.replica_set, self.key = SET_NAME, secrets.token_hex(32)
        members = [{"_id": i, "host": n.member()} for i, n in enumerate(nodes)]
        config = {"_id": SET_NAME, "members": members,
                  # a killed primary is replaced within seconds; secondaries
                  # sync from the primary, so a cut or paused secondary
                  # never stalls the other one (and majority writes with it)
                  "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 500,
                               "chainingAllowed": False}}
        if self.runtime.address == "127.0.0.1":
            # mongod's localhost exception covers initiating the set and then
            # creating the first user on its primary: every member starts
            # once, as a member, side by side
            self._initialised = True
            launch_all(nodes, self)
            with self.anonymous() as c:
                c.admin("replSetInitiate", config)
            primary = wait_for(lambda: next((n for n in nodes if n.anonymous_primary()), None),
                               timeout=self.timeouts.cluster, what="a PRIMARY in the new set")
            with primary.anonymous() as c:
                c.admin("createUser", self.admin.user, pwd=self.admin.password,
                        roles=[{"role": "root", "db": "admin"}])
        else:
            # reached from the host, not over the members' loopback: the
            # first member bootstraps the admin alone, then the set forms
            self.start()
            launch_all(nodes[1:], self)
            with self.client() as c:
                c.admin("replSetInitiate", config)
        self.wait_members(nodes, len(nodes))

    def anonymous_primary(self) -> bool:
        try:
            with self.anonymous() as c:
                return bool(c.admin("hello").get("isWritablePrimary"))
        except Exception:       # not up yet
            return False

    def cluster_grow(self, strategy: str, members: Sequence, joining: Sequence) -> None:
        self._no_sharding(strategy)
        launch_all(joining, members[0])
        for node in joining:
            self._reconfig(members, lambda ms, node=node: ms + [
                {"_id": max(m["_id"] for m in ms) + 1, "host": node.member()}])
        self.wait_members([*members, *joining], len(members) + len(joining))

    def cluster_shrink(self, strategy: str, members: Sequence, leaving: Sequence) -> None:
        self._no_sharding(strategy)
        everyone = [*members, *leaving]
        for node in leaving:
            if self.primary(everyone) is node:
                self.step_down(everyone)
            self._reconfig(everyone, lambda ms, node=node: [
                m for m in ms if m["host"] != node.member()])
            node.stop()
            everyone.remove(node)
        self.wait_members(members, len(members))

    def cluster_size(self) -> int:
        """Members this one sees healthy as PRIMARY or SECONDARY."""
        with self.client() as c:
            status = c.admin("replSetGetStatus")
        return sum(1 for m in status["members"] if m.get("state") in (1, 2)
                   and m.get("health", 1) == 1)

    def cluster_primary(self, members: Sequence) -> object:
        return self.primary(members)

    def step_down(self, members: Sequence) -> object:
        """replSetStepDown on the primary; returns the newly elected primary."""
        old = self.primary(members)
        with old.client() as c:
            try:
                c.admin("replSetStepDown", 30, secondaryCatchUpPeriodSecs=10)
            except Exception as exc:   # the primary drops connections as it steps down
                if "not primary" in str(exc).lower():
                    raise
        return wait_for(lambda: (p := self.primary(members)) is not old and p,
                        timeout=self.timeouts.cluster, what="a new PRIMARY after stepdown")

    def wait_members(self, nodes: Sequence, size: int) -> None:
        for n in nodes:
            wait_for(lambda n=n: n.running() and n.cluster_size() == size,
                     timeout=self.timeouts.cluster,
                     what=f"{n.member()} seeing {size} members PRIMARY or SECONDARY",
                     alive=n.running)

    def _reconfig(self, members: Sequence, change) -> None:
        primary = self.primary(members)
        with primary.client() as c:
            config = c.admin("replSetGetConfig")["config"]
            config["members"] = change(config["members"])
            config["version"] += 1
            c.admin("replSetReconfig", config)
            # the next reconfig waits until a majority has this one
            wait_for(lambda: c.admin("replSetGetConfig", commitmentStatus=True).get(
                "commitmentStatus"), timeout=self.timeouts.cluster,
                what="the new replica set config committed")

    def _no_sharding(self, strategy: str) -> None:
        if strategy == SHARDED:
            raise NotSupported("a sharded MongoDB cluster needs mongos and a config server "
                               "replica set; the mongod wheels this harness installs carry no "
                               "mongos, so sharding cannot be verified here")
        if strategy != REPLICA_SET:
            raise NotSupported(f"mongodb engine does not implement cluster strategy "
                               f"{strategy}")
