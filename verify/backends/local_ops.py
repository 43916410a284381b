"""Trove's verbs beyond create/delete for the local backend, each delegated to
the engine's server (verify.engines.capabilities). What an engine or guest
cannot do raises NotSupported with the reason; the scenario is then skipped."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from verify.backends.base import FLAVORS, Cluster, Configuration, Instance
from verify.engines.base import Credentials
from verify.engines.capabilities import Backup, ConfigRule, validate_configuration
from verify.errors import NotSupported, UsageError
from verify.guests.base import MemoryLimit, OwnVolume
from verify.settings import work_dir


def _server(instance: Instance):
    return instance.extra["server"]


def _no_volume(instance: Instance) -> str:
    return (f"a {instance.guest} guest keeps its data in a host directory and has no "
            "volume to grow (the namespace guest gives instances a real volume)")


class LocalOps:
    """Mixed into LocalBackend (which provides _live, catalog, ledger, ...)."""

    def _salvage(self, instances: list[Instance], exc: BaseException) -> None:
        """Before failed instances are deleted, keep their logs on the exception
        (exc.salvaged_logs) so the scenario puts them into the bundle."""
        dest = Path(tempfile.mkdtemp(prefix="salvage-", dir=self.ledger.dir))
        self.ledger.add("dir", str(dest))
        saved = []
        for inst in instances:
            try:
                saved += self.collect_logs(inst, dest)
            except Exception:  # logs are a courtesy; the failure itself is reported
                pass
        exc.salvaged_logs = [*getattr(exc, "salvaged_logs", []), *saved]

    # instance ---------------------------------------------------------------
    def show_instance(self, instance_id: str) -> Instance:
        with self._lock:
            inst = self._live.get(instance_id)
        if inst is None:
            raise UsageError(f"no instance {instance_id}")
        return inst

    def restart_instance(self, instance: Instance) -> None:
        instance.status = "REBOOT"
        _server(instance).restart()
        instance.status = "ACTIVE"

    def resize_instance(self, instance: Instance, flavor: str) -> None:
        if flavor not in FLAVORS:
            raise UsageError(f"unknown flavor {flavor!r}", fix=f"one of {sorted(FLAVORS)}")
        if flavor not in self.flavors(instance.datastore):
            raise UsageError(f"flavor {flavor} ({FLAVORS[flavor].memory_mb} MB) is too small "
                             f"for {instance.datastore}",
                             fix=f"one of {self.flavors(instance.datastore)}")
        instance.status = "RESIZE"
        server = _server(instance)
        server.memory_mb = FLAVORS[flavor].memory_mb
        server.stop()
        # a guest with a memory limit (namespace: its cgroup) follows the flavor
        if isinstance(instance.extra["guest"], MemoryLimit):
            instance.extra["guest"].resize_memory(server.memory_mb)
        server.start()     # the engine derives its memory settings at start
        instance.flavor, instance.status = FLAVORS[flavor], "ACTIVE"

    def resize_volume(self, instance: Instance, gb: int) -> None:
        guest = instance.extra["guest"]
        if not isinstance(guest, OwnVolume):
            raise NotSupported(_no_volume(instance))
        if gb <= instance.volume_gb:
            raise UsageError(f"new volume size {gb} GB is not larger than "
                             f"{instance.volume_gb} GB")
        guest.resize_volume(gb)
        instance.volume_gb = gb

    def volume_size_gb(self, instance: Instance) -> float:
        guest = instance.extra["guest"]
        if not isinstance(guest, OwnVolume):
            raise NotSupported(_no_volume(instance))
        return guest.volume_size_gb()

    def update_instance(self, instance: Instance, *, name: str) -> None:
        if not name.strip():
            raise UsageError("an instance name cannot be empty")
        instance.name = name

    def memory_in_effect(self, instance: Instance) -> tuple[int, int]:
        server = _server(instance)
        return server.memory_in_effect_mb(), server.memory_setting_mb(instance.flavor.memory_mb)

    def boot_id(self, instance: Instance) -> str:
        return _server(instance).boot_id()

    # users and root -----------------------------------------------------------
    def change_password(self, instance: Instance, user: str, password: str) -> None:
        _server(instance).change_password(user, password)

    def grant_access(self, instance: Instance, user: str, databases: list[str]) -> None:
        _server(instance).grant_access(user, databases)

    def revoke_access(self, instance: Instance, user: str, database: str) -> None:
        _server(instance).revoke_access(user, database)

    def list_access(self, instance: Instance, user: str) -> list[str]:
        return _server(instance).list_access(user)

    def enable_root(self, instance: Instance) -> Credentials:
        return _server(instance).enable_root()

    def root_enabled(self, instance: Instance) -> bool:
        return _server(instance).root_enabled()

    def disable_root(self, instance: Instance) -> None:
        _server(instance).disable_root()

    # configuration groups -----------------------------------------------------
    def _engine(self, datastore: str):
        from verify import engines
        ds = self.catalog.get(datastore)
        if ds.engine_module is None:
            raise NotSupported(f"no local engine for {datastore}")
        return engines.load(ds.engine_module)

    def list_configuration_parameters(self, datastore: str,
                                      version: str) -> dict[str, ConfigRule]:
        self.catalog.get(datastore).version(version)
        rules = getattr(self._engine(datastore).server, "CONFIG_RULES", None)
        if not rules:
            raise NotSupported(f"the {datastore} engine defines no configuration parameters")
        return dict(rules)

    def create_configuration(self, datastore: str, version: str, values: dict, *,
                             name: str = "verify-config") -> Configuration:
        rules = self.list_configuration_parameters(datastore, version)
        checked = validate_configuration(rules, values, engine=f"{datastore} {version}")
        config = Configuration(id=f"config-{uuid.uuid4().hex[:8]}", name=name,
                               datastore=datastore, version=version, values=checked)
        with self._lock:
            self._configs[config.id] = config
        return config

    def attach_configuration(self, instance: Instance, configuration: Configuration) -> None:
        if (configuration.datastore, configuration.version) != (instance.datastore,
                                                                  instance.version):
            raise UsageError(f"configuration {configuration.id} is for "
                             f"{configuration.datastore} {configuration.version}, the "
                             f"instance runs {instance.datastore} {instance.version}")
        if instance.configuration:
            raise UsageError(f"instance {instance.id} already has configuration "
                             f"{instance.configuration}", fix="detach it first")
        _server(instance).apply_configuration(dict(configuration.values))
        instance.configuration = configuration.id

    def detach_configuration(self, instance: Instance) -> None:
        if not instance.configuration:
            raise UsageError(f"instance {instance.id} has no configuration attached")
        config = self._configs[instance.configuration]
        _server(instance).remove_configuration(list(config.values))
        instance.configuration = None

    def delete_configuration(self, configuration: Configuration) -> None:
        with self._lock:
            self._configs.pop(configuration.id, None)

    def read_setting(self, instance: Instance, name: str) -> str:
        return _server(instance).setting(name)

    # backups ----------------------------------------------------------------
    def create_backup(self, instance: Instance, strategy: str,
                      parent: Backup | None = None) -> Backup:
        ds = self.catalog.get(instance.datastore)
        if strategy not in {s.name for s in ds.strategies_for("backup")}:
            raise UsageError(f"{ds.name} names no backup strategy {strategy!r}",
                             fix="see `trove-verify catalog`")
        store = work_dir() / "backups"
        store.mkdir(parents=True, exist_ok=True)
        store.chmod(0o755)
        backup_id = f"backup-{uuid.uuid4().hex[:8]}"
        host_dest = store / backup_id
        self.ledger.add("dir", str(host_dest))
        # the engine works in its guest's paths; artifacts then live in the store
        guest = instance.extra["guest"]
        staging = f"{guest.data_root}/backup-staging/{backup_id}"
        guest.make_dirs(f"{guest.data_root}/backup-staging", staging)
        try:
            seen_parent = self.place_backup(instance, parent) if parent else None
            made = _server(instance).backup(strategy, Path(staging), seen_parent)
            shutil.move(guest.path(staging), host_dest)
        except BaseException:
            shutil.rmtree(guest.path(staging), ignore_errors=True)
            shutil.rmtree(host_dest, ignore_errors=True)
            raise
        return dataclasses.replace(made, path=host_dest, parent=parent, id=backup_id,
                                   instance_id=instance.id, datastore=instance.datastore,
                                   version=instance.version)

    def place_backup(self, instance: Instance, backup: Backup) -> Backup:
        """The backup chain as instance's engine sees it: store paths where the
        guest shares the host's paths (process), else copies inside the guest."""
        guest = instance.extra["guest"]
        parent = self.place_backup(instance, backup.parent) if backup.parent else None
        if guest.path(str(backup.path)) == backup.path:
            return dataclasses.replace(backup, parent=parent)
        inside = f"{guest.data_root}/backup-copies/{backup.id}"
        target = guest.path(inside)
        if not target.exists():
            owner = os.stat(guest.path(guest.data_root))
            shutil.copytree(backup.path, target, symlinks=True)
            for path in [target.parent, target, *target.rglob("*")]:
                os.lchown(path, owner.st_uid, owner.st_gid)
        return dataclasses.replace(backup, path=Path(inside), parent=parent)

    def delete_backup(self, backup: Backup) -> None:
        if backup.path is not None:
            shutil.rmtree(backup.path, ignore_errors=True)
            for entry in list(self.ledger.entries):
                if entry["kind"] == "dir" and entry["value"] == str(backup.path):
                    self.ledger.forget(entry)

    # replication ------------------------------------------------------------
    def read_only(self, instance: Instance) -> bool:
        return _server(instance).read_only()

    def create_replica(self, primary: Instance, strategy: str, *,
                       name: str = "replica") -> Instance:
        ds = self.catalog.get(primary.datastore)
        if strategy not in {s.name for s in ds.strategies_for("replication")}:
            raise UsageError(f"{ds.name} names no replication strategy {strategy!r}")
        seed = _server(primary).REPLICA_SEED
        if seed is None:
            raise NotSupported(f"the {ds.name} engine cannot seed a replica from a backup")
        backup = self.create_backup(primary, seed)
        replica = self._new_instance(primary.datastore, primary.version, name=name,
                                     flavor=primary.flavor.name,
                                     volume_gb=primary.volume_gb)
        try:
            _server(replica).restore(self.place_backup(replica, backup))
            self._started(replica)
            _server(primary).attach_replica(_server(replica), strategy, backup)
        except BaseException as exc:
            self._salvage([replica], exc)
            self.delete_instance(replica)
            raise
        finally:
            self.delete_backup(backup)
        replica.replica_of, replica.extra["replication"] = primary.id, strategy
        primary.replicas.append(replica.id)
        return replica

    def _switch_source(self, old: Instance, new: Instance, strategy: str,
                       old_follows: bool) -> None:
        _server(new).promote()
        others = [self._live[r] for r in old.replicas if r != new.id and r in self._live]
        new.replica_of, old.replicas = None, []
        for inst in others + ([old] if old_follows else []):
            _server(inst).follow(_server(new), strategy)
            inst.replica_of, inst.extra["replication"] = new.id, strategy
            new.replicas.append(inst.id)

    def promote_to_replica_source(self, replica: Instance) -> None:
        if replica.replica_of is None or replica.replica_of not in self._live:
            raise UsageError(f"instance {replica.id} is not a replica")
        old = self._live[replica.replica_of]
        strategy = replica.extra["replication"]
        self._switch_source(old, replica, strategy, old_follows=False)
        try:   # the old source rejoins as a replica where the engine allows
            _server(old).follow(_server(replica), strategy)
        except NotSupported:
            return
        old.replica_of, old.extra["replication"] = replica.id, strategy
        replica.replicas.append(old.id)

    def eject_replica_source(self, primary: Instance) -> Instance:
        replicas = [self._live[r] for r in primary.replicas if r in self._live]
        if not replicas:
            raise UsageError(f"instance {primary.id} has no replicas")
        best = max(replicas, key=lambda r: _server(r).replication_position())
        self._switch_source(primary, best, best.extra["replication"], old_follows=False)
        return best

    def detach_replica(self, replica: Instance) -> None:
        if replica.replica_of is None:
            raise UsageError(f"instance {replica.id} is not a replica")
        _server(replica).detach()
        source = self._live.get(replica.replica_of)
        if source is not None and replica.id in source.replicas:
            source.replicas.remove(replica.id)
        replica.replica_of = None

    # clusters ---------------------------------------------------------------
    def create_cluster(self, datastore: str, version: str, strategy: str, size: int, *,
                       name: str = "cluster") -> Cluster:
        ds = self.catalog.get(datastore)
        if strategy not in {s.name for s in ds.strategies_for("cluster")}:
            raise UsageError(f"{ds.name} names no cluster strategy {strategy!r}")
        if size < 1:
            raise UsageError("a cluster needs at least one node")
        cluster = Cluster(id=f"cluster-{uuid.uuid4().hex[:8]}", name=name,
                          datastore=datastore, version=version, strategy=strategy)
        try:
            # an engine may need more than the default flavor per node (as a
            # Trove user picks the cluster's flavor): MySQL Group Replication
            flavor = self._engine(datastore).cluster_flavor
            for i in range(size):
                cluster.instances.append(self._new_instance(datastore, version,
                                                            name=f"{name}-{i}",
                                                            flavor=flavor))
            servers = [_server(i) for i in cluster.instances]
            servers[0].cluster_create(strategy, servers)
        except BaseException as exc:
            self._salvage(cluster.instances, exc)
            self.delete_cluster(cluster)
            raise
        for inst in cluster.instances:
            self._started(inst)
        return cluster

    def grow_cluster(self, cluster: Cluster, count: int = 1) -> list[Instance]:
        flavor = cluster.instances[0].flavor.name if cluster.instances else "small"
        joining = [self._new_instance(cluster.datastore, cluster.version,
                                      name=f"{cluster.name}-{len(cluster.instances) + i}",
                                      flavor=flavor)
                   for i in range(count)]
        members = [_server(i) for i in cluster.instances]
        try:
            members[0].cluster_grow(cluster.strategy, members, [_server(j) for j in joining])
        except BaseException as exc:
            self._salvage(joining, exc)
            for inst in joining:
                self.delete_instance(inst)
            raise
        for inst in joining:
            self._started(inst)
        cluster.instances.extend(joining)
        return joining

    def shrink_cluster(self, cluster: Cluster, instances: list[Instance]) -> None:
        leaving = {i.id for i in instances}
        staying = [i for i in cluster.instances if i.id not in leaving]
        if not staying or len(leaving) != len(instances) or \
                not leaving <= {i.id for i in cluster.instances}:
            raise UsageError("shrink must remove members of the cluster and keep at least one")
        _server(staying[0]).cluster_shrink(cluster.strategy, [_server(i) for i in staying],
                                           [_server(i) for i in instances])
        for inst in instances:
            self.delete_instance(inst)
        cluster.instances = staying

    def delete_cluster(self, cluster: Cluster) -> None:
        for inst in list(cluster.instances):
            if inst.status != "DELETED":
                self.delete_instance(inst)

    def cluster_size(self, instance: Instance) -> int:
        return _server(instance).cluster_size()

    def cluster_primary(self, cluster: Cluster, among: list[Instance] | None = None) -> Instance:
        """The member the engine says takes writes now (among the given ones)."""
        candidates = among or cluster.instances
        found = _server(candidates[0]).cluster_primary([_server(i) for i in candidates])
        return next(i for i in candidates if _server(i) is found)

    # guest logs -------------------------------------------------------------
    def list_logs(self, instance: Instance) -> list[str]:
        return sorted(name for name, path in _server(instance).log_files().items()
                      if path.is_file())

    def enable_log(self, instance: Instance, name: str) -> None:
        _server(instance).enable_log(name)

    def _log(self, instance: Instance, name: str) -> Path:
        logs = _server(instance).log_files()
        if name not in logs or not logs[name].is_file():
            raise UsageError(f"instance {instance.id} has no log {name!r}",
                             fix=f"one of: {', '.join(self.list_logs(instance))}")
        return logs[name]

    def show_log(self, instance: Instance, name: str) -> dict:
        path = self._log(instance, name)
        return {"name": name, "type": "SYS" if name == "error" else "USER",
                "status": "Ready", "size": path.stat().st_size}

    def publish_log(self, instance: Instance, name: str, dest: Path) -> Path:
        logs = {name: self._log(instance, name)}
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / f"{instance.id}-{name}.log"
        shutil.copyfile(logs[name], target)
        return target
