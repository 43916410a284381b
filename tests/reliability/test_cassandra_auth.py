"""Cassandra's grow flake at its cause: roles live in system_auth, written at
ONE (so logins work while nodes join), so a replica can miss a role; a node
that bootstraps streams each range from one replica, and the one it picked
may be the one without the role: the joined node then refuses the login
("Provided username ... and/or password are incorrect").

The divergence is made on purpose here (hinted handoff off, two replicas
paused while the role is created), then the cluster grows: every replica of
the role must hold it afterwards, and the joined node must accept it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from verify import catalog
from verify.backends.local import LocalBackend
from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.cassandra import runtime as cassandra_runtime
from verify.settings import Timeouts
from verify.state import Ledger


@pytest.fixture
def backend(monkeypatch):
    lib = cassandra_runtime.host_lib_dir()
    if cassandra_runtime.cassandra_jar(lib) is None:
        pytest.skip(f"no Cassandra jars in {lib}: run tools/setup.sh")
    work = Path(tempfile.mkdtemp(prefix="tv-cass-auth-", dir="/tmp"))
    work.chmod(0o755)
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(work / "work"))
    ledger = Ledger("cassandra-auth-test")
    b = LocalBackend(catalog.default(), guest="process", ledger=ledger,
                     timeouts=Timeouts(replication=30))
    yield b
    b.close()
    ledger.teardown()
    shutil.rmtree(work, ignore_errors=True)


def _holds(inst, role: str) -> bool:
    """The node's own sstables hold the role (not what a coordinator reads)."""
    node = inst.extra["server"]
    node.nodetool("flush", "system_auth", "roles")
    return bool(node.nodetool("getsstables", "system_auth", "roles", role).strip())


def _wait_status(inst, state: str, count: int) -> None:
    """Until the node's gossip shows count nodes in state (UN up, DN down)."""
    node = inst.extra["server"]
    wait_for(lambda: node.nodetool("status").count(f"\n{state} ") == count,
             timeout=120, interval=1, what=f"{count} nodes {state} in nodetool status")


def _replicas(inst, role: str) -> set[str]:
    out = inst.extra["server"].nodetool("getendpoints", "system_auth", "roles", role)
    return {line.strip() for line in out.splitlines() if line.strip()}


def test_a_role_missing_on_a_replica_still_logs_in_on_the_joined_node(backend):
    cluster = backend.create_cluster("cassandra", "5.0", "cassandra_cluster", 3)
    try:
        first, *others = cluster.instances
        database = f"verify_{random_password(6).lower()}"
        backend.create_database(first, database)
        for inst in cluster.instances:      # a missed write stays missed
            inst.extra["server"].nodetool("disablehandoff")
        creds = Credentials(f"verify_{random_password(6).lower()}", random_password())
        for inst in others:
            backend.pause_server(inst)
        try:
            # once the first node holds the others down, it writes the role
            # alone (ONE) and reads it from itself
            _wait_status(first, "DN", len(others))
            backend.create_user(first, creds.user, creds.password, [database])
        finally:
            for inst in others:
                backend.resume_server(inst)
        _wait_status(first, "UN", len(cluster.instances))
        missing = [i.address for i in cluster.instances if not _holds(i, creds.user)]
        print(f"\nrole {creds.user} missing on {missing} before the grow")
        assert missing, "the replicas did not diverge: this run proves nothing"

        (joined,) = backend.grow_cluster(cluster, 1)
        replicas = _replicas(joined, creds.user)
        without = [i.address for i in cluster.instances
                   if i.address in replicas and not _holds(i, creds.user)]
        print(f"after the grow: replicas {sorted(replicas)}, without the role {without}")
        assert without == [], without
        # the scenario's symptom: the joined node accepts the role at once
        with backend.connect(joined, creds, database) as client:
            client.write_items({"k": "v"})
    finally:
        backend.delete_cluster(cluster)
