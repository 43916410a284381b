"""Trove's database and user verbs are casts to the guest agent (202): the
trove backend waits until Trove lists the change before a client connects."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from types import SimpleNamespace

import pytest

from verify.backends.base import Instance
from verify.backends.trove_data import TroveData
from verify.errors import WaitTimeout
from verify.settings import Timeouts


class LaggingUsers:
    """A troveclient users manager whose listing shows a create only after
    `lag` more list calls (the guest agent still working on the cast)."""

    def __init__(self, lag: int, grant_lag: int = 0):
        self.lag, self.grant_lag, self.made, self.lists = lag, grant_lag, {}, 0

    def create(self, instance_id, users):
        for u in users:
            self.made[u["name"]] = (self.lists, u["databases"])

    def list(self, instance_id):
        self.lists += 1
        out = []
        for name, (at, dbs) in self.made.items():
            if self.lists - at > self.lag:
                granted = dbs if self.lists - at > self.lag + self.grant_lag else []
                out.append(SimpleNamespace(name=name, databases=granted))
        return out


class Backend(TroveData):
    def __init__(self, users, timeout: float = 5.0):
        self.trove = SimpleNamespace(users=users)
        self.timeouts = replace(Timeouts(), trove_action=timeout)
        self.poll_interval = 0.01

    @contextlib.contextmanager
    def _trove_errors(self, what):
        yield

    def agent_log(self, instance):
        return None     # off the box: no guest agent log to read


INST = Instance(id="i-1", name="n", datastore="postgresql", version="15", flavor=None,
                volume_gb=1, guest="trove")


def test_create_user_returns_once_trove_lists_it_with_its_databases(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    users = LaggingUsers(lag=3, grant_lag=2)
    Backend(users).create_user(INST, "u1", "pw", ["db"])
    # 3 lists without the user, 2 listing it without its grant, then the one that shows both
    assert users.lists == 6


def test_create_user_that_never_appears_is_a_bounded_wait(monkeypatch):
    users = LaggingUsers(lag=10**9)
    with pytest.raises(WaitTimeout, match="user u2: Trove does not list it"):
        Backend(users, timeout=0.05).create_user(INST, "u2", "pw", [])
