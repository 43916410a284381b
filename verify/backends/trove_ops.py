"""Trove verbs beyond instances/databases/users, mixed into TroveBackend:
root, configuration groups, backups (and restore), replicas, clusters,
resize and upgrade. Each waits with a bound from settings.Timeouts."""

from __future__ import annotations

import contextlib
import time

from verify.backends.base import Instance
from verify.engines.base import Credentials
from verify.errors import ConfigError, EngineError, WaitTimeout

BACKUP_DONE = {"COMPLETED"}
BACKUP_FAILED = {"FAILED", "DELETE_FAILED", "ERROR"}


class TroveOps:
    """Needs self.trove (troveclient), self.timeouts, self.wait_ready."""

    @contextlib.contextmanager
    def _trove_errors(self, what: str):
        from troveclient import exceptions as tc_exc
        try:
            yield
        except tc_exc.ClientException as exc:
            message = getattr(exc, "message", None) or str(exc)
            code = getattr(exc, "http_status", None) or getattr(exc, "code", 0)
            if "flavor" in message.lower() and code in (400, 404, 422):
                raise ConfigError(f"{what}: Trove refused the flavor: {message}",
                                  fix="pick a larger or an existing flavor") from None
            if "datastore" in message.lower() and code in (400, 404):
                raise ConfigError(f"{what}: {message}",
                                  fix="register the datastore version (trove-verify register)"
                                  ) from None
            raise EngineError(f"{what}: Trove answered {code or '?'}: "
                              f"{message}") from None

    # root -----------------------------------------------------------------
    def enable_root(self, instance: Instance) -> Credentials:
        with self._trove_errors("enable root"):
            user, password = self.trove.root.create_instance_root(instance.id)
        from verify import redact
        redact.register(password)
        return Credentials(user, password)

    def root_enabled(self, instance: Instance) -> bool:
        with self._trove_errors("root status"):
            return bool(self.trove.root.is_instance_root_enabled(instance.id).rootEnabled)

    def disable_root(self, instance: Instance) -> None:
        with self._trove_errors("disable root"):
            self.trove.root.disable_instance_root(instance.id)

    # configuration groups --------------------------------------------------
    def create_configuration(self, name: str, values: dict, datastore: str,
                             version: str) -> str:
        import json
        with self._trove_errors(f"create configuration {name}"):
            conf = self.trove.configurations.create(name, json.dumps(values),
                                                    datastore=datastore,
                                                    datastore_version=version)
        return conf.id

    def configuration_values(self, configuration_id: str) -> dict:
        return dict(self.trove.configurations.get(configuration_id).values)

    def attach_configuration(self, instance: Instance, configuration_id: str) -> None:
        with self._trove_errors("attach configuration"):
            self.trove.instances.update(instance.id, configuration=configuration_id)
        self.wait_ready(instance, self.timeouts.trove_action, "configuration attach")

    def detach_configuration(self, instance: Instance) -> None:
        with self._trove_errors("detach configuration"):
            self.trove.instances.update(instance.id, remove_configuration=True)
        self.wait_ready(instance, self.timeouts.trove_action, "configuration detach")

    def delete_configuration(self, configuration_id: str) -> None:
        with self._trove_errors("delete configuration"):
            self.trove.configurations.delete(configuration_id)

    def configuration_parameters(self, datastore: str, version: str) -> list[str]:
        return [p.name for p in self.trove.configuration_parameters.parameters(
            datastore, version)]

    # backups ----------------------------------------------------------------
    def create_backup(self, instance: Instance, name: str, incremental_of: str | None = None,
                      description: str | None = None) -> str:
        with self._trove_errors(f"create backup {name}"):
            backup = self.trove.backups.create(name, instance.id, parent_id=incremental_of,
                                               description=description)
        self.wait_backup(backup.id)
        return backup.id

    def wait_backup(self, backup_id: str) -> dict:
        deadline = time.monotonic() + self.timeouts.trove_action
        interval = 0.3
        while True:
            info = self.trove.backups.get(backup_id)._info
            if info.get("status") in BACKUP_DONE:
                return info
            if info.get("status") in BACKUP_FAILED:
                raise EngineError(f"Trove backup {backup_id} went {info.get('status')}")
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"Trove backup {backup_id} still {info.get('status')} after "
                                  f"{self.timeouts.trove_action:.0f}s")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def list_backups(self, instance: Instance) -> list[str]:
        return [b.id for b in self.trove.instances.backups(instance.id)]

    def delete_backup(self, backup_id: str) -> None:
        with self._trove_errors("delete backup"):
            self.trove.backups.delete(backup_id)
        self._wait_gone(lambda: self.trove.backups.get(backup_id),
                        f"Trove backup {backup_id} deletion")

    def restore_backup(self, backup_id: str, datastore: str, version: str, *, name: str,
                       flavor: str = "small", volume_gb: int = 1) -> Instance:
        return self.create_instance(datastore, version, name=name, flavor=flavor,
                                    volume_gb=volume_gb, restorePoint={"backupRef": backup_id})

    # replication --------------------------------------------------------------
    def create_replica(self, source: Instance, *, name: str, flavor: str = "small") -> Instance:
        return self.create_instance(source.datastore, source.version, name=name,
                                    flavor=flavor, volume_gb=source.volume_gb,
                                    replica_of=source.id)

    def replica_source(self, replica: Instance) -> str | None:
        record = self.get_instance(replica)
        return (record.get("replica_of") or {}).get("id")

    def replicas(self, source: Instance) -> list[str]:
        return [r["id"] for r in self.get_instance(source).get("replicas", [])]

    def promote_to_replica_source(self, replica: Instance) -> None:
        with self._trove_errors("promote to replica source"):
            self.trove.instances.promote_to_replica_source(replica.id)
        self.wait_ready(replica, self.timeouts.trove_action, "promote")

    def eject_replica_source(self, replica: Instance) -> None:
        with self._trove_errors("eject replica source"):
            self.trove.instances.eject_replica_source(replica.id)
        self.wait_ready(replica, self.timeouts.trove_action, "eject")

    def detach_replica(self, replica: Instance) -> None:
        with self._trove_errors("detach replica"):
            self.trove.instances.update(replica.id, detach_replica_source=True)
        self.wait_ready(replica, self.timeouts.trove_action, "detach")

    # resize and upgrade --------------------------------------------------------
    def resize_volume(self, instance: Instance, size_gb: int) -> None:
        with self._trove_errors("resize volume"):
            self.trove.instances.resize_volume(instance.id, size_gb)
        self.wait_ready(instance, self.timeouts.trove_action, "resize volume")
        instance.volume_gb = size_gb

    def resize_flavor(self, instance: Instance, flavor: str) -> None:
        with self._trove_errors("resize flavor"):
            self.trove.instances.resize_instance(instance.id, self.flavor_for(flavor))
        self.wait_ready(instance, self.timeouts.trove_action, "resize flavor")

    def upgrade(self, instance: Instance, version: str) -> None:
        with self._trove_errors(f"upgrade to {version}"):
            self.trove.instances.upgrade(instance.id, version)
        self.wait_ready(instance, self.timeouts.trove_action, "upgrade")
        instance.version = version

    # clusters ------------------------------------------------------------------
    def create_cluster(self, datastore: str, version: str, *, name: str, size: int,
                       flavor: str = "small", volume_gb: int = 1) -> str:
        flavor_id = self.flavor_for(flavor)
        members = [{"flavorRef": flavor_id, "volume": {"size": volume_gb}}] * size
        with self._trove_errors(f"create {datastore} cluster"):
            cluster = self.trove.clusters.create(name, datastore, version, instances=members)
        self.wait_cluster(cluster.id)
        return cluster.id

    def wait_cluster(self, cluster_id: str) -> dict:
        deadline = time.monotonic() + self.timeouts.trove_create
        interval = 0.5
        while True:
            info = self.trove.clusters.get(cluster_id)._info
            task = (info.get("task") or {}).get("name", "")
            if task == "NONE":
                return info
            if "ERROR" in task or "FAIL" in task:
                raise EngineError(f"Trove cluster {cluster_id} went {task}")
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"Trove cluster {cluster_id} still {task} after "
                                  f"{self.timeouts.trove_create:.0f}s")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def delete_cluster(self, cluster_id: str) -> None:
        with self._trove_errors("delete cluster"):
            self.trove.clusters.delete(cluster_id)
        self._wait_gone(lambda: self.trove.clusters.get(cluster_id),
                        f"Trove cluster {cluster_id} deletion")
