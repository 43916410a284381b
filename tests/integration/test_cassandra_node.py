"""One real Cassandra node, checked for what the suite does not look at: the
default cassandra/cassandra superuser is gone, the heap is the bounded one,
identity comes from the server, and SIGTERM leaves nothing running."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.test_cassandra_preview import _need_cassandra
from verify.engines.base import Credentials, port_in_use
from verify.engines.cassandra import server as cassandra


@pytest.fixture
def node(monkeypatch):
    _need_cassandra()
    work = Path(tempfile.mkdtemp(prefix="tv-cnode-", dir="/tmp"))
    work.chmod(0o755)
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(work))
    from verify.guests.process import ProcessGuest
    from verify.state import Ledger
    ledger = Ledger(f"test-cassandra-node-{os.getpid()}", directory=work / "state")
    guest = ProcessGuest("cassandra-node", ledger)
    server = cassandra.SERVER(guest, version="5.0", memory_mb=512)
    yield server
    try:
        server.stop()
    finally:
        guest.destroy()
        shutil.rmtree(work, ignore_errors=True)


def test_node_is_private_bounded_identified_and_stops_on_sigterm(node):
    node.start()
    address, port = node.runtime.address, node.port
    assert node.identity().name == "cassandra"
    assert node.identity().version.startswith("5.0.")

    # the well-known default superuser was replaced by a random-password admin
    with pytest.raises(Exception, match="(?i)authentication|bad credentials|provided"):
        cassandra.connect(address, port, Credentials("cassandra", "cassandra")).close()
    with node.client() as c:
        roles = {r[0] for r in c.query("SELECT role FROM system_auth.roles")}
    assert roles == {node.admin.user}

    # never Cassandra's default heap formula: what the flavor says, as the JVM reports it
    assert node.memory_in_effect_mb() == node.memory_setting_mb(512) == 256
    cmdline = Path(f"/proc/{node.process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"-Xmx256m" in cmdline

    pid = node.process.pid
    node.stop()
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not port_in_use(address, port)
