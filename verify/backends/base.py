"""The backend interface: Trove's verbs, whoever carries them out."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from verify.engines.base import Client, Credentials, Identity
from verify.engines.capabilities import Backup, ConfigRule
from verify.errors import NotSupported

__all__ = ["FLAVORS", "Backend", "Backup", "Cluster", "ConfigRule", "Configuration",
           "Flavor", "Instance"]


@dataclass(frozen=True)
class Flavor:
    name: str
    memory_mb: int
    vcpus: int = 1


FLAVORS = {f.name: f for f in (Flavor("tiny", 256), Flavor("small", 512),
                               Flavor("medium", 1024), Flavor("large", 2048))}


@dataclass
class Instance:
    id: str
    name: str
    datastore: str
    version: str
    flavor: Flavor
    volume_gb: int
    address: str = ""
    port: int = 0
    status: str = "BUILD"
    guest: str = ""
    image: dict | None = None
    replica_of: str | None = None     # id of the instance this one replicates from
    replicas: list[str] = field(default_factory=list)
    configuration: str | None = None  # id of the attached configuration group
    extra: dict = field(default_factory=dict, repr=False)


@dataclass
class Configuration:
    id: str
    name: str
    datastore: str
    version: str
    values: dict


@dataclass
class Cluster:
    id: str
    name: str
    datastore: str
    version: str
    strategy: str
    instances: list[Instance] = field(default_factory=list)
    extra: dict = field(default_factory=dict, repr=False)


class Backend(abc.ABC):
    name: str = ""

    def flavors(self, datastore: str) -> list[str]:
        """The harness flavor sizes this datastore's instances may use,
        smallest first."""
        return sorted(FLAVORS, key=lambda f: FLAVORS[f].memory_mb)

    @abc.abstractmethod
    def create_instance(self, datastore: str, version: str, *, name: str,
                        flavor: str = "small", volume_gb: int = 1,
                        restore_from: Backup | None = None,
                        configuration: Configuration | None = None) -> Instance:
        """restore_from: seed the NEW instance from that backup."""

    @abc.abstractmethod
    def delete_instance(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    def create_database(self, instance: Instance, name: str) -> None: ...

    @abc.abstractmethod
    def list_databases(self, instance: Instance) -> list[str]: ...

    @abc.abstractmethod
    def delete_database(self, instance: Instance, name: str) -> None: ...

    @abc.abstractmethod
    def create_user(self, instance: Instance, name: str, password: str,
                    databases: list[str]) -> None: ...

    @abc.abstractmethod
    def list_users(self, instance: Instance) -> list[str]: ...

    @abc.abstractmethod
    def delete_user(self, instance: Instance, name: str) -> None: ...

    @abc.abstractmethod
    def connect(self, instance: Instance, creds: Credentials,
                database: str | None = None) -> Client:
        """The engine's own client, reaching the instance's address directly."""

    @abc.abstractmethod
    def identity(self, instance: Instance) -> Identity: ...

    @abc.abstractmethod
    def service_credentials(self, instance: Instance) -> Credentials:
        """Credentials for datastores without users (Redis: its password)."""

    @abc.abstractmethod
    def leftovers(self, instance: Instance) -> list[str]:
        """What of a deleted instance still exists (empty when nothing)."""

    @abc.abstractmethod
    def collect_logs(self, instance: Instance, dest: Path) -> list[Path]:
        """Copy the instance's logs into dest; return the files written."""

    def guest_kind(self) -> str:
        return ""

    # Trove's other verbs: each raises NotSupported until a backend does it, so
    # a scenario skips with the reason instead of passing. ----------------------
    def _no(self, verb: str):
        raise NotSupported(f"the {self.name or 'this'} backend does not implement {verb}")

    def show_instance(self, instance_id: str) -> Instance:
        self._no("show_instance")

    def restart_instance(self, instance: Instance) -> None:
        self._no("restart_instance")

    def resize_instance(self, instance: Instance, flavor: str) -> None:
        self._no("resize_instance")

    def resize_volume(self, instance: Instance, gb: int) -> None:
        self._no("resize_volume")

    def update_instance(self, instance: Instance, *, name: str) -> None:
        self._no("update_instance")

    # users and root
    def change_password(self, instance: Instance, user: str, password: str) -> None:
        self._no("change_password")

    def grant_access(self, instance: Instance, user: str, databases: list[str]) -> None:
        self._no("grant_access")

    def revoke_access(self, instance: Instance, user: str, database: str) -> None:
        self._no("revoke_access")

    def list_access(self, instance: Instance, user: str) -> list[str]:
        self._no("list_access")

    def enable_root(self, instance: Instance) -> Credentials:
        self._no("enable_root")

    def root_enabled(self, instance: Instance) -> bool:
        self._no("root_enabled")

    def disable_root(self, instance: Instance) -> None:
        self._no("disable_root")

    # configuration groups
    def list_configuration_parameters(self, datastore: str,
                                      version: str) -> dict[str, ConfigRule]:
        self._no("list_configuration_parameters")

    def create_configuration(self, datastore: str, version: str, values: dict, *,
                             name: str = "verify-config") -> Configuration:
        self._no("create_configuration")

    def attach_configuration(self, instance: Instance, configuration: Configuration) -> None:
        self._no("attach_configuration")

    def detach_configuration(self, instance: Instance) -> None:
        self._no("detach_configuration")

    def delete_configuration(self, configuration: Configuration) -> None:
        self._no("delete_configuration")

    # backups
    def create_backup(self, instance: Instance, strategy: str,
                      parent: Backup | None = None) -> Backup:
        self._no("create_backup")

    def delete_backup(self, backup: Backup) -> None:
        self._no("delete_backup")

    # replication
    def create_replica(self, primary: Instance, strategy: str, *,
                       name: str = "replica") -> Instance:
        self._no("create_replica")

    def promote_to_replica_source(self, replica: Instance) -> None:
        self._no("promote_to_replica_source")

    def eject_replica_source(self, primary: Instance) -> Instance:
        """The source is lost: promote its most current replica; return it."""
        self._no("eject_replica_source")

    def detach_replica(self, replica: Instance) -> None:
        self._no("detach_replica")

    # clusters
    def create_cluster(self, datastore: str, version: str, strategy: str, size: int, *,
                       name: str = "cluster") -> Cluster:
        self._no("create_cluster")

    def grow_cluster(self, cluster: Cluster, count: int = 1) -> list[Instance]:
        self._no("grow_cluster")

    def shrink_cluster(self, cluster: Cluster, instances: list[Instance]) -> None:
        self._no("shrink_cluster")

    def delete_cluster(self, cluster: Cluster) -> None:
        self._no("delete_cluster")

    # guest logs
    def list_logs(self, instance: Instance) -> list[str]:
        self._no("list_logs")

    def enable_log(self, instance: Instance, name: str) -> None:
        """Trove's log-enable for a USER log."""
        self._no("enable_log")

    def show_log(self, instance: Instance, name: str) -> dict:
        """Trove's log-show: name, type (SYS|USER), status, size in bytes."""
        self._no("show_log")

    def publish_log(self, instance: Instance, name: str, dest: Path) -> Path:
        self._no("publish_log")

    # inspection: what the engine itself reports (not Trove verbs) -------------
    def memory_in_effect(self, instance: Instance) -> tuple[int, int]:
        """(the server's memory setting in MB, what the flavor should give)."""
        self._no("memory_in_effect")

    def boot_id(self, instance: Instance) -> str:
        self._no("boot_id")

    def volume_size_gb(self, instance: Instance) -> float:
        self._no("volume_size_gb")

    def read_setting(self, instance: Instance, name: str) -> str:
        self._no("read_setting")

    def read_only(self, instance: Instance) -> bool:
        self._no("read_only")

    def cluster_size(self, instance: Instance) -> int:
        self._no("cluster_size")

    def close(self) -> None:
        """Delete every instance this backend still holds (backends that track
        them keep _lock and _live); teardown goes on past a failure, and what
        is left is the ledger's and leftovers()'s to report."""
        lock, live = getattr(self, "_lock", None), getattr(self, "_live", None)
        if lock is None or live is None:
            return
        with lock:
            instances = list(live.values())
        for inst in instances:
            try:
                self.delete_instance(inst)
            except Exception:
                pass
