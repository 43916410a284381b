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
        self.agent_stopped = False
        self.alive_seen: list[bool] = []

    def alive(self) -> bool:     # as TroveGuest.alive, less the namespace's init
        return self.agent_stopped or self.agent is not None and self.agent.poll() is None

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
    with pytest.raises(NotSupported, match="filling a Trove guest.s data volume is not wired"):
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


def test_a_stopped_agent_leaves_the_server_active_and_a_restart_heals_it(box):
    """Only the heartbeats stop: Nova (the emulator) still shows the server
    ACTIVE, and restart_agent starts the agent again."""
    client, guest = box
    stopped = client.stop_agent("srv-1")
    assert stopped["fault"] == "stop_agent" and stopped["stopped_pid"] == 100
    assert guest.agent.poll() == -15 and guest.agent_stopped and guest.alive()
    app_server = emu.Emulator(boot=lambda *a: None, images=[])
    assert app_server._server(emu.Server(id="s", name="n", flavor_id="2", image_id="i",
                                         tenant_id="t", user_id="u", metadata={},
                                         status="ACTIVE", guest=guest))["status"] == "ACTIVE"
    healed = client.restart_agent("srv-1")
    assert healed["new_pid"] == 101 and guest.alive() and not guest.agent_stopped


def test_eject_through_the_box_silences_the_source_and_asks_until_trove_accepts(
        box, tmp_path, monkeypatch):
    """Trove ejects only a source whose heartbeat has expired: the backend
    stops the source's agent, asks again while Trove says 'current
    heartbeat', and returns the replica Trove made the source."""
    from troveclient import exceptions as tc_exc

    from verify.backends import trove_ops
    client, guest = box
    (tmp_path / "instances").mkdir()
    (tmp_path / "instances" / "src.json").write_text(json.dumps({"server_id": "srv-1"}))
    answers = iter([tc_exc.BadRequest(message="Replica Source src cannot be ejected as it "
                                              "has a current heartbeat", http_status=400),
                    None])
    calls = []

    def eject(instance_id):
        calls.append(instance_id)
        answer = next(answers)
        if answer is not None:
            raise answer

    records = {"src": {"replicas": [{"id": "rep"}]}, "rep": {}}
    backend = object.__new__(TroveBackend)
    backend.box, backend.guest_faults = {"logs": str(tmp_path)}, client
    backend.provenance = {"trove": {"version": "26.0.0"}}
    backend.timeouts = SimpleNamespace(trove_action=60)
    backend.trove = SimpleNamespace(instances=SimpleNamespace(
        eject_replica_source=eject,
        get=lambda i: SimpleNamespace(_info=records[i])))
    backend.get_instance = lambda inst: records[inst.id]
    backend.wait_ready = lambda inst, timeout, what, since=None: records[inst.id]
    monkeypatch.setattr(trove_ops.time, "sleep", lambda s: None)

    def inst(i):
        return Instance(id=i, name=i, datastore="mariadb", version="10.11",
                        flavor=FLAVORS["small"], volume_gb=1)
    source, replica = inst("src"), inst("rep")
    replica.replica_of = "src"
    backend._live = {"src": source, "rep": replica}
    new = backend.eject_replica_source(source)
    assert new is replica and new.replica_of is None
    assert calls == ["src", "src"]
    assert [f["fault"] for f in source.extra["faults"]] == ["stop_agent"]
    assert guest.agent_stopped and guest.agent.pid == 100   # the source stays lost
    # its logs are no longer asked of Trove: the API would wait 300 s on the agent
    assert backend.agent_silenced(source) and not backend.agent_silenced(replica)
    backend.trove.instances.log_list = backend.trove.instances.log_generator = None
    assert backend.guest_log(source, "guest") == ""
    backend.restart_agent(source)
    assert not backend.agent_silenced(source)


def test_an_eject_the_datastores_agent_cannot_do_is_not_implemented_by_trove(box, tmp_path):
    """PostgreSQL through Trove 26: the API takes the eject, the task manager
    asks the replica's agent for get_last_txn, which postgresql's agent does
    not have (oslo.messaging NoSuchMethod), and the replica goes ERROR."""
    from verify.backends.trove_answers import agent_lacks
    client, _guest = box
    (tmp_path / "instances").mkdir()
    (tmp_path / "instances" / "src.json").write_text(json.dumps({"server_id": "srv-1"}))
    said = ("Trove instance rep went ERROR during eject: no fault recorded; meanwhile the "
            "task manager logged: Error calling get_last_txn: oslo_messaging.rpc.client."
            "RemoteError: Remote error: NoSuchMethod Endpoint does not support RPC method "
            "get_last_txn")
    assert agent_lacks(said) == "get_last_txn" and agent_lacks("TypeError: tuple") is None

    def failed(inst, timeout, what, since=None):
        raise EngineError(said)
    records = {"src": {"replicas": [{"id": "rep"}]}}
    backend = object.__new__(TroveBackend)
    backend.box, backend.guest_faults = {"logs": str(tmp_path)}, client
    backend.provenance = {"trove": {"version": "26.0.0"}}
    backend.timeouts = SimpleNamespace(trove_action=60)
    backend.trove = SimpleNamespace(instances=SimpleNamespace(
        eject_replica_source=lambda i: None))
    backend.get_instance = lambda inst: records[inst.id]
    backend.wait_ready = failed
    source, replica = (Instance(id=i, name=i, datastore="postgresql", version="15",
                                flavor=FLAVORS["small"], volume_gb=1) for i in ("src", "rep"))
    backend._live = {"src": source, "rep": replica}
    with pytest.raises(NotSupported, match=r"not implemented by Trove 26\.0\.0: eject replica "
                                           r"source: postgresql's guest agent has no "
                                           r"get_last_txn"):
        backend.eject_replica_source(source)
