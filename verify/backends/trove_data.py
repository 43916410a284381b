"""Trove's database and user verbs, mixed into TroveBackend.

Trove answers these with 202 and casts them to the guest agent, so each
waits until Trove's own listing shows the change: a client that connects at
once can beat the agent (PostgreSQL then says "password authentication
failed" for a user the agent has not made yet).
"""

from __future__ import annotations

import time

from verify import deadline
from verify.backends.base import Instance
from verify.errors import WaitTimeout


class TroveData:
    """Needs self.trove (troveclient), self.timeouts, self._trove_errors."""

    def create_database(self, instance: Instance, name: str) -> None:
        with self._trove_errors(f"create database {name}"):
            self.trove.databases.create(instance.id, [{"name": name}])
        self._wait_listed(lambda: name in self.list_databases(instance), f"database {name}")

    def list_databases(self, instance: Instance) -> list[str]:
        return sorted(d.name for d in self.trove.databases.list(instance.id))

    def delete_database(self, instance: Instance, name: str) -> None:
        with self._trove_errors(f"delete database {name}"):
            self.trove.databases.delete(instance.id, name)
        self._wait_listed(lambda: name not in self.list_databases(instance),
                          f"database {name} deletion")

    def create_user(self, instance: Instance, name: str, password: str,
                    databases: list[str]) -> None:
        with self._trove_errors(f"create user {name}"):
            self.trove.users.create(instance.id, [{
                "name": name, "password": password,
                "databases": [{"name": d} for d in databases]}])
        # listed with its databases: the grant follows the create in the cast
        self._wait_listed(lambda: set(databases) <= self._user_databases(instance, name),
                          f"user {name}")

    def _user_databases(self, instance: Instance, name: str) -> set[str]:
        """The databases Trove lists for user name; KeyError while unlisted."""
        for user in self.trove.users.list(instance.id):
            if user.name == name:
                return {d["name"] for d in getattr(user, "databases", [])}
        raise KeyError(name)

    def list_users(self, instance: Instance) -> list[str]:
        return sorted(u.name for u in self.trove.users.list(instance.id))

    def delete_user(self, instance: Instance, name: str) -> None:
        with self._trove_errors(f"delete user {name}"):
            self.trove.users.delete(instance.id, name)
        self._wait_listed(lambda: name not in self.list_users(instance), f"user {name} deletion")

    def _wait_listed(self, done, what: str) -> None:
        """Poll until done() is true (a KeyError counts as not yet): Trove's
        database and user verbs are casts to the guest agent (202)."""
        end = time.monotonic() + self.timeouts.trove_action
        interval = 0.2
        while True:
            try:
                if done():
                    return
            except KeyError:
                pass
            if time.monotonic() >= end:
                raise WaitTimeout(deadline.cut_short(what) or
                                  f"{what}: Trove does not list it after "
                                  f"{self.timeouts.trove_action:.0f}s (the guest agent's "
                                  "log is in the bundle)")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)
