"""A datastore version whose plain creates end in ERROR through Trove is not
created again in the same run (each such create costs the agent's whole
state_change_wait_time); one that has come up never is blocked."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from verify.backends.trove_creates import CreateOutcomes, VersionNeverCameUp
from verify.errors import EngineError

from .test_trove_verbs import backend


def trove_answering(statuses: dict[str, str]):
    """A backend whose Trove creates instance '<version>-<n>' and reports it
    in statuses[version] at once."""
    made: dict[str, int] = {}

    def create(name, **kw):
        version = kw["datastore_version"]
        made[version] = made.get(version, 0) + 1
        return SimpleNamespace(id=f"{version}-{made[version]}", name=name, _info={})

    def get(instance_id):
        status = statuses[instance_id.rsplit("-", 1)[0]]
        return SimpleNamespace(_info={"status": status, "fault": {"message": "mysqld exited"}})

    b, calls = backend({"instances.create": create, "instances.get": get})
    b.volume_support, b.flavor_map, b._quota_usages_made = False, {}, True
    b.creates, b.ledger = CreateOutcomes(), None
    b.flavor_for = lambda size: "f-small"
    b.guest_log = lambda *a, **kw: ""
    b.delete_instance = lambda inst: None
    return b, calls


def creates(calls) -> list[str]:
    return [kw["datastore_version"] for name, _a, kw in calls if name == "instances.create"]


def test_after_a_create_ends_in_error_the_version_is_not_created_again():
    b, calls = trove_answering({"9.7": "ERROR", "8.4": "ACTIVE"})
    with pytest.raises(EngineError, match="went ERROR during create: mysqld exited"):
        b.create_instance("mysql", "9.7", name="first")
    with pytest.raises(VersionNeverCameUp, match=r"not attempted: no mysql 9\.7 instance has "
                                                 r"come up .*mysqld exited"):
        b.create_instance("mysql", "9.7", name="second")
    assert b.create_instance("mysql", "8.4", name="other").status == "ACTIVE"
    assert creates(calls) == ["9.7", "8.4"]     # the second 9.7 never reached Trove


def test_a_version_that_came_up_is_never_blocked():
    statuses = {"9.7": "ACTIVE"}
    b, calls = trove_answering(statuses)
    b.create_instance("mysql", "9.7", name="up")
    statuses["9.7"] = "ERROR"           # a later failure (load, a bad flavor) stays its own
    for _ in range(2):
        with pytest.raises(EngineError) as err:
            b.create_instance("mysql", "9.7", name="down")
        assert not isinstance(err.value, VersionNeverCameUp)
    assert creates(calls) == ["9.7"] * 3


def test_a_restore_or_replica_in_error_blocks_nothing():
    outcomes = CreateOutcomes()
    b, calls = trove_answering({"9.7": "ERROR"})
    b.creates = outcomes
    with pytest.raises(EngineError):
        b.create_instance("mysql", "9.7", name="restore",
                          restore_from=SimpleNamespace(id="backup-1"))
    outcomes.check("mysql", "9.7")      # raises nothing: a bad backup is the backup's fault


def test_came_up_clears_an_earlier_error():
    outcomes = CreateOutcomes()
    outcomes.ended_in_error("mysql", "9.7", "went ERROR")
    outcomes.came_up("mysql", "9.7")
    outcomes.check("mysql", "9.7")
    outcomes.ended_in_error("mysql", "9.7", "went ERROR")
    outcomes.check("mysql", "9.7")      # it has come up once: later errors are their own
