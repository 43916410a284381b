"""The box's private RabbitMQ, for real: its own node, ports, vhost and a
random user (never guest), answering AMQP on loopback and on the box-private
address guests route to; a port already taken and a refusing node fail with
one line naming the log; stop leaves no process, port or directory."""

import os
import subprocess

import pytest

from tests.integration.preview import workdir  # noqa: F401 (a fixture)
from verify.box import rabbitmq
from verify.box.network import BoxAddress
from verify.errors import EngineError
from verify.guests import nshost
from verify.state import Ledger


@pytest.fixture
def ledger(workdir, monkeypatch):  # noqa: F811
    if os.geteuid() != 0:
        pytest.skip("the box needs root (a host address for guests, a service user)")
    reason = rabbitmq.unavailable() or nshost.unavailable()
    if reason:
        pytest.skip(f"the box's RabbitMQ cannot run here: {reason}")
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir / "work"))
    led = Ledger("box-rabbitmq-test")
    yield led
    assert led.teardown() == [], "the test left something in the ledger"


def _beam_processes(node: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if node.split("@")[0] in line]


def test_private_rabbitmq_with_guest_address(ledger):
    address = BoxAddress(ledger)
    rmq = rabbitmq.RabbitMQ(ledger, guest_address=address.address)
    try:
        rmq.start()
        assert rmq.node.startswith("tv") and rmq.node != "rabbit@localhost"
        assert rmq.users() == [rmq.user] and "guest" not in rmq.users()
        assert rabbitmq.amqp_answers("127.0.0.1", rmq.port)
        assert rabbitmq.amqp_answers(address.address, rmq.port)
        url = rmq.transport_url(for_guest=True)
        assert url == (f"rabbit://{rmq.user}:{rmq.password}@{address.address}:{rmq.port}/"
                       f"{rmq.vhost}")
        assert "127.0.0.1" in rmq.transport_url(for_guest=False)
        vhosts = rmq.ctl("list_vhosts", "--formatter", "json")
        assert rmq.vhost in vhosts
        assert rmq.alive()
    finally:
        rmq.stop()
        address.release()
    assert not rmq.dir.exists()
    assert not address.exists()
    assert not _beam_processes(rmq.node)
    assert not rabbitmq.amqp_answers("127.0.0.1", rmq.port)


def test_refusing_node_names_its_log(ledger):
    rmq = rabbitmq.RabbitMQ(ledger, timeout=60)
    # a config RabbitMQ refuses: the start fails with one line naming the log
    original = rmq._prepare

    def broken_prepare():
        original()
        with open(rmq.dir / "rabbitmq.conf", "a") as fh:
            fh.write("this_is_not_a_setting = 1\n")

    rmq._prepare = broken_prepare
    with pytest.raises(EngineError) as err:
        rmq.start()
    line = str(err.value)
    assert "\n" not in line and str(rmq.log_dir) in line
    assert not rmq.dir.exists() and not _beam_processes(rmq.node)
