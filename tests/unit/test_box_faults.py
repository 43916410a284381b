"""Faults inside the box's Trove guests (verify/box/faults.py), asked of the
emulator over loopback, and the trove backend's side of them: a stand-in
guest records the commands a real one would run in its namespaces."""

from __future__ import annotations

import json
import subprocess
import threading
from types import SimpleNamespace

import pytest

from verify.backends.base import FLAVORS, Instance
from verify.backends.trove import TroveBackend
from verify.backends.trove_faults import GuestFaults
from verify.box import emulator as emu
from verify.box import faults
from verify.errors import EngineError, NotSupported


class Proc:
    def __init__(self, pid: int):
        self.pid, self.code = pid, None

    def poll(self):
        return self.code


class FakeGuest:
    """What faults.py uses of a TroveGuest: run, agent, start_agent, _terminate."""

    instance_id = "guest-1"

    def __init__(self):
        self.commands: list[list[str]] = []
        self.state = {"Status": "running", "Running": True, "Pid": 42, "ExitCode": 0}
        self.agent = Proc(100)
        self.alive_seen: list[bool] = []

    def alive(self) -> bool:
        return self.agent is not None and self.agent.poll() is None

    def run(self, argv, *, timeout, check=True, as_root=False):
        self.commands.append(list(argv))
        if argv[:2] == ["docker", "kill"]:
            self.state = {"Status": "exited", "Running": False, "Pid": 0, "ExitCode": 137}
        elif argv[:2] == ["docker", "start"]:
            self.state = {"Status": "running", "Running": True, "Pid": 43, "ExitCode": 0}
        out = json.dumps(self.state).encode() if argv[:2] == ["docker", "inspect"] else b""
        return subprocess.CompletedProcess(argv, 0, out, b"")

    def _terminate(self, proc, grace):
        self.alive_seen.append(self.alive())     # what the emulator would see meanwhile
        proc.code = -15

    def start_agent(self):
        self.alive_seen.append(self.alive())
        self.agent = Proc(self.agent.pid + 1 if self.agent.pid else 101)


@pytest.fixture
def box():
    """The emulator serving on loopback with one server whose guest is a FakeGuest."""
    app = emu.Emulator(boot=lambda *a: None, images=[])
    guest = FakeGuest()
    app.servers["srv-1"] = emu.Server(id="srv-1", name="n", flavor_id="2", image_id="i",
                                      tenant_id="t", user_id="u", metadata={},
                                      status="ACTIVE", guest=guest)
    server = emu.serve(app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield faults.BoxFaults(f"http://127.0.0.1:{server.server_address[1]}"), guest
    finally:
        server.shutdown()
        server.server_close()


def test_kill_then_heal_the_datastore_through_the_emulator(box):
    client, guest = box
    assert isinstance(client, GuestFaults)
    killed = client.kill_datastore("srv-1")
    assert killed["fault"] == "kill_datastore" and killed["ExitCode"] == 137
    assert ["docker", "kill", "--signal", "KILL", "database"] in guest.commands
    healed = client.start_datastore("srv-1")
    assert healed["Running"] is True
    assert ["docker", "start", "database"] in guest.commands
    guest.commands.clear()
    client.start_datastore("srv-1")      # running already: nothing started
    assert ["docker", "start", "database"] not in guest.commands


def test_an_agent_restart_never_looks_like_a_dead_guest(box):
    client, guest = box
    answer = client.restart_agent("srv-1")
    assert answer["old_pid"] == 100 and answer["new_pid"] == 101
    assert guest.alive_seen == [True, True]     # the placeholder stood in meanwhile
    assert guest.alive()


def test_bad_fault_requests_are_refused_with_a_reason(box):
    client, _ = box
    with pytest.raises(EngineError, match="404.*server nope has no running guest"):
        client.kill_datastore("nope")
    with pytest.raises(EngineError, match="400.*unknown fault"):
        client._ask("srv-1", "format_disk")


def test_a_box_that_does_not_answer_is_one_line():
    client = faults.BoxFaults("http://127.0.0.1:9", timeout=2)
    with pytest.raises(Exception, match="the box does not answer"):
        client.restart_agent("srv-1")


def test_server_id_comes_from_the_daemons_index(tmp_path):
    (tmp_path / "instances").mkdir()
    (tmp_path / "instances" / "inst-1.json").write_text(json.dumps({"server_id": "srv-9"}))
    assert faults.server_id({"logs": str(tmp_path)}, "inst-1") == "srv-9"
    with pytest.raises(EngineError, match="no guest for Trove instance inst-2"):
        faults.server_id({"logs": str(tmp_path)}, "inst-2")


def test_the_trove_backend_faults_go_through_its_guest_faults(box, tmp_path):
    client, guest = box
    (tmp_path / "instances").mkdir()
    (tmp_path / "instances" / "inst-1.json").write_text(json.dumps({"server_id": "srv-1"}))
    backend = object.__new__(TroveBackend)
    backend.box, backend.guest_faults = {"logs": str(tmp_path)}, client
    inst = Instance(id="inst-1", name="n", datastore="mariadb", version="10.11",
                    flavor=FLAVORS["small"], volume_gb=1)
    backend.fault_possible("agent")
    with pytest.raises(NotSupported, match="trove_volume_support off"):
        backend.fault_possible("volume")
    backend.kill_server(inst)
    backend.revive_server(inst)
    backend.restart_agent(inst)
    assert [f["fault"] for f in inst.extra["faults"]] == ["kill_datastore", "start_datastore",
                                                          "restart_agent"]
    # a cloud without guest faults declines before anything is created
    backend.guest_faults = None
    with pytest.raises(NotSupported, match="no way into its guests"):
        backend.fault_possible("agent")


def test_the_local_backend_declines_agent_faults():
    from verify.backends.local import LocalBackend
    local = object.__new__(LocalBackend)
    local.guest_class, local.guest = SimpleNamespace, "process"
    with pytest.raises(NotSupported, match="no guest agent"):
        local.fault_possible("agent")
