"""The real mongod (6.0.5 and 6.0.27 from the PyPI wheels set-up installs) on
process guests: it starts, reports itself through buildInfo, keeps data; a
3-member replica set holds every write on every member, survives a primary
stepdown, and grows and shrinks by replSetReconfig."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.preview import started_on_process_guest
from verify.engines.base import wait_for
from verify.engines.mongodb import runtime as rt
from verify.engines.mongodb import server as mongodb


def _need(version: str) -> None:
    reason = rt.missing(version)
    if reason:
        pytest.skip(reason)


def _items(tag: str, n: int = 10) -> dict[str, str]:
    return {f"{tag}-{i:03d}": f"{tag}-value-{i}" for i in range(n)}


@pytest.mark.parametrize("version", rt.VERSIONS)
def test_real_mongod_starts_reports_itself_and_keeps_data(version, monkeypatch):
    _need(version)
    monkeypatch.delenv("TROVE_VERIFY_MONGODB_STANDIN", raising=False)
    monkeypatch.delenv("TROVE_VERIFY_MONGOD", raising=False)
    with started_on_process_guest(f"mongo-{version}", lambda g: mongodb.SERVER(
            g, version=version)) as server:
        ident = server.identity()
        assert (ident.name, ident.version) == ("mongodb", version)
        with server.client() as c:
            c.create_database("verify_node")
        items = _items("node")
        with server.client("verify_node") as c:
            c.write_items(items)
        server.restart()
        with server.client("verify_node") as c:
            assert c.read_items() == items
        # the service user runs it, with the binary reachable to that user
        assert Path(server.binary).name == "mongod"


@pytest.fixture
def replica_set(monkeypatch):
    from verify.guests.process import ProcessGuest
    from verify.state import Ledger

    _need("6.0.5")
    monkeypatch.delenv("TROVE_VERIFY_MONGODB_STANDIN", raising=False)
    monkeypatch.delenv("TROVE_VERIFY_MONGOD", raising=False)
    root = Path(tempfile.mkdtemp(prefix="tv-it-", dir="/tmp"))
    root.chmod(0o755)
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(root / "work"))
    ledger = Ledger("pytest-mongo-rs")
    guests, servers = [], []

    def add(n: int) -> list:
        made = []
        for _ in range(n):
            guest = ProcessGuest(f"mongo-rs-{len(guests)}", ledger)
            guests.append(guest)
            made.append(mongodb.SERVER(guest, version="6.0.5"))
        servers.extend(made)
        return made

    try:
        yield add
    finally:
        for s in servers:
            s.stop()
        for g in guests:
            g.destroy()
        ledger.teardown()
        shutil.rmtree(root, ignore_errors=True)


def _on_every_member(members, items) -> None:
    for m in members:
        def holds(m=m):
            with m.client("verify_rs") as c:
                return c.read_items() == items
        wait_for(holds, timeout=30, what=f"every row on {m.member()}")
        with m.client("verify_rs") as c:
            assert c.read_items() == items


def test_replica_set_data_on_every_member_stepdown_grow_shrink(replica_set):
    nodes = replica_set(3)
    nodes[0].cluster_create("mongodb_replica_set", nodes)
    assert [n.cluster_size() for n in nodes] == [3, 3, 3]
    primary = nodes[0].primary(nodes)
    secondary = next(n for n in nodes if n is not primary)
    with primary.client() as c:
        c.create_database("verify_rs")
    written = _items("before")
    # written through a secondary member: the client sends it to the primary
    with secondary.client("verify_rs") as c:
        c.write_items(written)
        assert not c.admin("hello")["isWritablePrimary"]
    _on_every_member(nodes, written)

    new = nodes[0].step_down(nodes)
    assert new is not primary
    more = _items("after-stepdown")
    with new.client("verify_rs") as c:
        c.write_items(more)
    written.update(more)
    _on_every_member(nodes, written)

    (joining,) = replica_set(1)
    nodes[0].cluster_grow("mongodb_replica_set", nodes, [joining])
    everyone = [*nodes, joining]
    assert {n.cluster_size() for n in everyone} == {4}
    _on_every_member(everyone, written)

    leaving = nodes[0].primary(everyone)     # shrinking the primary steps it down
    staying = [n for n in everyone if n is not leaving]
    staying[0].cluster_shrink("mongodb_replica_set", staying, [leaving])
    assert not leaving.running()
    assert {n.cluster_size() for n in staying} == {3}
    last = _items("after-shrink")
    with staying[0].client("verify_rs") as c:
        c.write_items(last)
    written.update(last)
    _on_every_member(staying, written)


def test_sharding_is_refused_with_the_reason(replica_set):
    from verify.errors import NotSupported

    nodes = replica_set(1)
    with pytest.raises(NotSupported, match="no mongos"):
        nodes[0].cluster_create("mongodb_sharded", nodes)
