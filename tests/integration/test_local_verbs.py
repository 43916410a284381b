"""Local backend verbs on a real MariaDB: bad input refused with one clear
message, a server that dies mid-way fails the verb fast (no hang) and still
leaves nothing behind."""

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pymysql
import pytest

from tests.conftest import need
from verify import catalog
from verify.backends.local import LocalBackend
from verify.engines.capabilities import ConfigurationRejected
from verify.errors import EngineError, NotSupported, UsageError
from verify.settings import Timeouts
from verify.state import Ledger


@pytest.fixture
def backend(monkeypatch):
    need("mariadbd")
    work = Path(tempfile.mkdtemp(prefix="tv-verbs-", dir="/tmp"))
    work.chmod(0o755)
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(work / "work"))
    ledger = Ledger("verbs-test")
    b = LocalBackend(catalog.default(), guest="process", ledger=ledger,
                     timeouts=Timeouts(engine_start=30, engine_stop=10, command=60,
                                       replication=10))
    yield b
    b.close()
    ledger.teardown()
    shutil.rmtree(work, ignore_errors=True)


def test_configuration_input_is_checked_before_any_instance(backend):
    with pytest.raises(ConfigurationRejected) as err:
        backend.create_configuration("mariadb", "10.11", {"max_connections": -5})
    assert "max_connections" in str(err.value) and "-5" in str(err.value)
    assert "min 1" in str(err.value)
    with pytest.raises(UsageError, match="no backup strategy 'xtrabackup'"):
        backend.create_backup(_FakeRef("mariadb"), "xtrabackup")
    with pytest.raises(NotSupported, match="no local engine"):
        backend.list_configuration_parameters("vertica", "9.0")


class _FakeRef:
    """Only the datastore name is read before the strategy is refused."""

    def __init__(self, datastore):
        self.datastore = datastore


def test_dead_server_fails_fast_and_leaves_nothing(backend):
    inst = backend.create_instance("mariadb", "10.11", name="doomed")
    with pytest.raises(NotSupported, match="no volume"):
        backend.resize_volume(inst, 2)
    server = inst.extra["server"]
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    with pytest.raises(EngineError):
        backend.create_backup(inst, "mariabackup")
    with pytest.raises(pymysql.err.OperationalError):  # refused at once, no hang
        backend.enable_root(inst)
    backend.delete_instance(inst)
    assert backend.leftovers(inst) == []
