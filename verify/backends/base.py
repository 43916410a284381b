"""The backend interface: Trove's verbs, whoever carries them out."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from verify.engines.base import Client, Credentials, Identity


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
    extra: dict = field(default_factory=dict, repr=False)


class Backend(abc.ABC):
    name: str = ""

    @abc.abstractmethod
    def create_instance(self, datastore: str, version: str, *, name: str,
                        flavor: str = "small", volume_gb: int = 1) -> Instance: ...

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

    def close(self) -> None:
        """Release whatever the backend still holds."""
