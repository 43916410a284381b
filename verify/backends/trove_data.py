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
from verify.backends.trove_answers import agent_error
from verify.errors import EngineError, WaitTimeout


class TroveData:
    """Needs self.trove (troveclient), self.timeouts, self._trove_errors and
    self.agent_log."""

    def create_database(self, instance: Instance, name: str) -> None:
        self._cast(instance, f"create database {name}",
                   lambda: self.trove.databases.create(instance.id, [{"name": name}]),
                   lambda: name in self.list_databases(instance))

    def list_databases(self, instance: Instance) -> list[str]:
        return sorted(d.name for d in self.trove.databases.list(instance.id))

    def delete_database(self, instance: Instance, name: str) -> None:
        self._cast(instance, f"delete database {name}",
                   lambda: self.trove.databases.delete(instance.id, name),
                   lambda: name not in self.list_databases(instance))

    def create_user(self, instance: Instance, name: str, password: str,
                    databases: list[str]) -> None:
        self._cast(instance, f"create user {name}",
                   lambda: self.trove.users.create(instance.id, [{
                       "name": name, "password": password,
                       "databases": [{"name": d} for d in databases]}]),
                   # listed with its databases: the grant follows the create in the cast
                   lambda: set(databases) <= self._user_databases(instance, name))

    def _user_databases(self, instance: Instance, name: str) -> set[str]:
        """The databases Trove lists for user name; KeyError while unlisted."""
        for user in self.trove.users.list(instance.id):
            if user.name == name:
                return {d["name"] for d in getattr(user, "databases", [])}
        raise KeyError(name)

    def list_users(self, instance: Instance) -> list[str]:
        return sorted(u.name for u in self.trove.users.list(instance.id))

    def delete_user(self, instance: Instance, name: str) -> None:
        self._cast(instance, f"delete user {name}",
                   lambda: self.trove.users.delete(instance.id, name),
                   lambda: name not in self.list_users(instance))

    def _cast(self, instance: Instance, what: str, request, done) -> None:
        """Ask Trove (202: cast to the guest agent), then poll until done() is
        true (a KeyError counts as not yet). Where the agent's log is at hand
        (the box), an RPC error it logs after the request ends the wait with
        the agent's own words: Trove itself never reports a failed cast."""
        log = self.agent_log(instance)
        mark = log.stat().st_size if log is not None and log.exists() else 0
        with self._trove_errors(what):
            request()
        end = time.monotonic() + deadline.bound(self.timeouts.trove_action)
        interval = 0.2
        while True:
            try:
                if done():
                    return
            except KeyError:
                pass
            failed = agent_error(log, mark) if log is not None else None
            if failed:
                raise EngineError(f"{what}: Trove accepted it (202) and its guest agent "
                                  f"failed it: {failed}")
            if deadline.over(end):
                raise WaitTimeout(deadline.cut_short(what) or
                                  f"{what}: Trove does not list it after "
                                  f"{self.timeouts.trove_action:.0f}s (the guest agent's "
                                  "log is in the bundle)")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)
