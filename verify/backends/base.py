"""The backend interface: Trove's verbs, whoever carries them out."""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from verify.catalog import Datastore
from verify.engines.base import Client, Credentials, Identity
from verify.engines.capabilities import Backup, ConfigRule
from verify.errors import NotSupported

__all__ = ["FLAVORS", "OPTIONAL_VERBS", "Backend", "Backup", "Cluster", "ConfigRule",
           "Configuration", "Flavor", "Instance"]


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
    # what the control plane says of the datastore itself, where it says it
    # apart from status (Trove: operating_status; status is the server's)
    operating_status: str = ""
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


def optional(verb: Callable) -> Callable:
    """A verb a backend may lack: unless overridden it raises NotSupported,
    with the reason the backend gives in NOT_SUPPORTED (a scenario then skips
    with that reason, never passes)."""
    @functools.wraps(verb)
    def not_supported(self, *args, **kwargs):
        self._no(verb.__name__)
    not_supported.optional_verb = True
    return not_supported


class Backend(abc.ABC):
    name: str = ""
    # parallel scenario workers when the run names none: two engines per
    # worker keep 2 cores busy locally
    default_workers: int = 2

    @classmethod
    def from_run(cls, options, *, catalog, ledger, timeouts) -> Backend:
        """This backend as a run's options (verify.runner.RunOptions) ask for
        it; the registry (verify.backends.BACKENDS) builds backends with it."""
        raise NotImplementedError(f"{cls.__name__} does not say how a run builds it")

    def capability_unavailable(self, capability: str) -> str | None:
        """Why this deployment cannot exercise ``capability`` (or a scenario's
        other need, e.g. "volumes") at all (None: it can), said before a
        scenario creates anything."""
        return None

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

    def unavailable(self, ds: Datastore, version: str | None = None) -> str | None:
        """Why ds (version) cannot run through this backend, or None when it can."""
        return None

    def prepare(self, ds: Datastore, versions: list[str],
                say: Callable[[str], None] = print) -> None:
        """Ready what the versions need (images) before any scenario starts."""

    def stand_in(self, ds: Datastore) -> str | None:
        """The stand-in engine this backend knowingly launches for ds, if any."""
        return None

    # Trove's other verbs: each raises NotSupported until a backend does it, so
    # a scenario skips with the reason instead of passing. A backend either
    # overrides a verb or names it in NOT_SUPPORTED with the reason it cannot
    # (tests/unit/test_contracts.py holds every registered backend to that).
    NOT_SUPPORTED: ClassVar[dict[str, str]] = {}

    def _no(self, verb: str):
        reason = self.NOT_SUPPORTED.get(verb)
        raise NotSupported(f"the {self.name or 'this'} backend does not implement {verb}"
                           + (f": {reason}" if reason else ""))

    @optional
    def show_instance(self, instance_id: str) -> Instance:
        ...

    @optional
    def restart_instance(self, instance: Instance) -> None:
        ...

    @optional
    def resize_instance(self, instance: Instance, flavor: str) -> None:
        ...

    @optional
    def resize_volume(self, instance: Instance, gb: int) -> None:
        ...

    @optional
    def update_instance(self, instance: Instance, *, name: str) -> None:
        ...

    @optional
    def upgrade_instance(self, instance: Instance, version: str) -> None:
        """Trove's datastore upgrade: the instance moves to version, keeping its data."""

    # users and root
    @optional
    def change_password(self, instance: Instance, user: str, password: str) -> None:
        ...

    @optional
    def grant_access(self, instance: Instance, user: str, databases: list[str]) -> None:
        ...

    @optional
    def revoke_access(self, instance: Instance, user: str, database: str) -> None:
        ...

    @optional
    def list_access(self, instance: Instance, user: str) -> list[str]:
        ...

    @optional
    def enable_root(self, instance: Instance) -> Credentials:
        ...

    @optional
    def root_enabled(self, instance: Instance) -> bool:
        ...

    @optional
    def disable_root(self, instance: Instance) -> None:
        ...

    # configuration groups
    @optional
    def list_configuration_parameters(self, datastore: str,
                                      version: str) -> dict[str, ConfigRule]:
        ...

    @optional
    def create_configuration(self, datastore: str, version: str, values: dict, *,
                             name: str = "verify-config") -> Configuration:
        ...

    @optional
    def attach_configuration(self, instance: Instance, configuration: Configuration) -> None:
        ...

    @optional
    def detach_configuration(self, instance: Instance) -> None:
        ...

    @optional
    def delete_configuration(self, configuration: Configuration) -> None:
        ...

    # backups
    @optional
    def create_backup(self, instance: Instance, strategy: str,
                      parent: Backup | None = None) -> Backup:
        ...

    @optional
    def delete_backup(self, backup: Backup) -> None:
        ...

    # replication
    @optional
    def create_replica(self, primary: Instance, strategy: str, *,
                       name: str = "replica") -> Instance:
        ...

    @optional
    def promote_to_replica_source(self, replica: Instance) -> None:
        ...

    @optional
    def eject_replica_source(self, primary: Instance) -> Instance:
        """The source is lost: promote its most current replica; return it."""
        ...

    @optional
    def detach_replica(self, replica: Instance) -> None:
        ...

    # clusters
    @optional
    def create_cluster(self, datastore: str, version: str, strategy: str, size: int, *,
                       name: str = "cluster") -> Cluster:
        ...

    @optional
    def grow_cluster(self, cluster: Cluster, count: int = 1) -> list[Instance]:
        ...

    @optional
    def shrink_cluster(self, cluster: Cluster, instances: list[Instance]) -> None:
        ...

    @optional
    def delete_cluster(self, cluster: Cluster) -> None:
        ...

    # guest logs
    @optional
    def list_logs(self, instance: Instance) -> list[str]:
        ...

    @optional
    def enable_log(self, instance: Instance, name: str) -> None:
        """Trove's log-enable for a USER log."""
        ...

    @optional
    def show_log(self, instance: Instance, name: str) -> dict:
        """Trove's log-show: name, type (SYS|USER), status, size in bytes."""
        ...

    @optional
    def publish_log(self, instance: Instance, name: str, dest: Path) -> Path:
        ...

    # faults (the nemesis): not Trove verbs; each is healed by its pair ------
    @optional
    def fault_possible(self, kind: str) -> None:
        """Raise NotSupported before anything is created when this backend
        cannot inject faults of kind ("network", "volume", "agent") here."""

    @optional
    def kill_server(self, instance: Instance) -> None:
        """SIGKILL the engine, as a crash or the OOM killer would."""

    @optional
    def revive_server(self, instance: Instance) -> None:
        """Heal kill_server below the control plane: start the server again
        when it is down (the last resort when the control plane's restart
        does not)."""

    @optional
    def restart_agent(self, instance: Instance) -> dict:
        """Restart the instance's guest agent (stop, start) whatever it is
        doing; return what the deployment says about the restart."""

    @optional
    def pause_server(self, instance: Instance) -> None:
        """SIGSTOP the engine; return once all of it is stopped."""

    @optional
    def resume_server(self, instance: Instance) -> None:
        ...

    @optional
    def cut_network(self, instance: Instance) -> None:
        ...

    @optional
    def heal_network(self, instance: Instance) -> None:
        ...

    @optional
    def fill_volume(self, instance: Instance) -> None:
        ...

    @optional
    def free_volume(self, instance: Instance) -> None:
        ...

    # inspection: what the engine itself reports (not Trove verbs) -------------
    @optional
    def memory_in_effect(self, instance: Instance) -> tuple[int, int]:
        """(the server's memory setting in MB, what the flavor should give)."""
        ...

    @optional
    def boot_id(self, instance: Instance) -> str:
        ...

    @optional
    def volume_size_gb(self, instance: Instance) -> float:
        ...

    @optional
    def read_setting(self, instance: Instance, name: str) -> str:
        ...

    @optional
    def read_only(self, instance: Instance) -> bool:
        ...

    @optional
    def cluster_primary(self, cluster: Cluster, among: list[Instance] | None = None) -> Instance:
        """The member the engine says takes writes now (among the given ones)."""

    @optional
    def cluster_size(self, instance: Instance) -> int:
        ...

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


# Every verb a backend may lack, each with a NotSupported default.
OPTIONAL_VERBS = frozenset(name for name, value in vars(Backend).items()
                           if getattr(value, "optional_verb", False))
