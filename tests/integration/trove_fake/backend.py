"""The trove backend as the fake-compute test drives it.

Trove's fake guest answers for a datastore that does not exist, and the
fake neutron gives it no address (Trove 26 reads addresses from ports). So that data checks still
run for real, this subclass (a documented adaptation, README.md here):
- sends the engine client to a private MariaDB on 127.0.0.1 instead of the
  address Trove reports (the backend's own address_of is what is replaced);
- mirrors each database/user created through Trove into that MariaDB, and
  asks it for its identity with its admin account.
Its evidence carries provenance `trove-fake-compute` and never classifies.
"""

from __future__ import annotations

from verify.backends.base import Instance
from verify.backends.trove import TroveBackend
from verify.engines.base import Credentials


class FakeComputeTroveBackend(TroveBackend):
    def __init__(self, *args, standin, **kwargs):
        kwargs.setdefault("provenance_kind", "trove-fake-compute")
        super().__init__(*args, **kwargs)
        self.standin = standin            # a verify.engines.mariadb server
        self.reported: dict[str, str] = {}

    def address_of(self, instance: Instance) -> tuple[str, int]:
        # Trove 26 takes addresses from neutron ports; the fake neutron has
        # none, so Trove reports no address at all here.
        self.reported[instance.id] = instance.address
        return self.standin.runtime.address, self.standin.port

    def create_database(self, instance: Instance, name: str) -> None:
        super().create_database(instance, name)
        with self.standin.client() as c:
            c.query(f"CREATE DATABASE IF NOT EXISTS `{name}`")

    def create_user(self, instance: Instance, name: str, password: str,
                    databases: list[str]) -> None:
        super().create_user(instance, name, password, databases)
        with self.standin.client() as c:
            c.create_user(name, password, databases)

    def identity_credentials(self, instance: Instance):
        return Credentials(self.standin.admin.user, self.standin.admin.password), lambda: None
