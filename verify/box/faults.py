"""Faults inside the box's Trove guests, for the nemesis scenarios: the
datastore container killed, the guest agent restarted or stopped.

The guests belong to the box daemon (their processes are its children and
in its ledger), so a fault is asked of the daemon: the emulator serves
``POST /faults/v1/servers/<server id>`` on 127.0.0.1 with
``{"fault": NAME}`` and calls the function here on the server's guest. A
backend reaches it through BoxFaults (the GuestFaults protocol in
verify/backends/trove_faults.py). Each fault has its heal: ``start_datastore``
after ``kill_datastore``; ``restart_agent`` is its own heal (the agent is
running again when it returns) and the heal of ``stop_agent``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from verify.errors import EngineError, InfraError

CONTAINER = "database"       # the name Trove's guest agent gives the datastore container
ROUTE = re.compile(r"^/v1/servers/(?P<id>[^/]+)$")
AGENT_STOP_GRACE = 10.0


def datastore_state(guest) -> dict:
    """The datastore container as the guest's dockerd sees it."""
    out = guest.run(["docker", "inspect", "--format",
                     "{{json .State}}", CONTAINER], timeout=30, check=False, as_root=True)
    if out.returncode != 0:
        return {"Status": "missing", "error": out.stderr.decode(errors="replace")[-200:]}
    state = json.loads(out.stdout)
    return {k: state.get(k) for k in ("Status", "Running", "Pid", "ExitCode", "StartedAt",
                                      "FinishedAt", "OOMKilled")}


def volume_state(guest) -> dict:
    """The filesystem on the guest's data disk (/dev/vdb) as the guest sees it:
    its size in bytes and where Trove's agent mounted it."""
    from verify.box.guest import DEVICE
    out = guest.run(["findmnt", "--source", DEVICE, "--noheadings", "--bytes",
                     "--first-only", "--output", "SIZE,TARGET"], timeout=30, check=False,
                    as_root=True)
    fields = out.stdout.decode(errors="replace").split()
    if out.returncode != 0 or len(fields) != 2:
        return {"device": DEVICE, "mounted": False,
                "error": out.stderr.decode(errors="replace")[-200:]}
    return {"device": DEVICE, "mounted": True, "size_bytes": int(fields[0]),
            "mounted_at": fields[1]}


def kill_datastore(guest) -> dict:
    """SIGKILL the datastore container, as a crash or the OOM killer would."""
    out = guest.run(["docker", "kill", "--signal", "KILL", CONTAINER], timeout=60,
                    check=False, as_root=True)
    if out.returncode != 0:
        raise EngineError(f"docker kill {CONTAINER} in guest {guest.instance_id} failed: "
                          + out.stderr.decode(errors="replace")[-200:])
    return datastore_state(guest)


def start_datastore(guest) -> dict:
    """The heal: the container runs again (a no-op when Trove already restarted it)."""
    if not datastore_state(guest).get("Running"):
        guest.run(["docker", "start", CONTAINER], timeout=120, check=False, as_root=True)
    return datastore_state(guest)


# a restart replaces guest.agent; the emulator's liveness check must never see
# the gap between the old agent's exit and the new one's start
_RESTARTING: set[int] = set()
_LOCK = threading.Lock()


class _Restarting:
    """Stands in for the agent's Popen while it restarts: alive, no pid."""

    pid = None

    def poll(self) -> None:
        return None


def restart_agent(guest) -> dict:
    """Stop trove-guestagent (SIGTERM, as systemctl restart would) and start
    it again with the same configuration; returns the new process id."""
    with _LOCK:
        if id(guest) in _RESTARTING:
            raise EngineError(f"the guest agent of {guest.instance_id} is already restarting")
        _RESTARTING.add(id(guest))
    old = guest.agent
    try:
        guest.agent = _Restarting()
        if old is not None and old.poll() is None:
            guest._terminate(old, AGENT_STOP_GRACE)
        started = time.monotonic()
        guest.start_agent()          # ledgered by the guest, as at boot
        guest.agent_stopped = False
        return {"old_pid": getattr(old, "pid", None), "new_pid": guest.agent.pid,
                "restart_s": round(time.monotonic() - started, 3)}
    except BaseException:
        if isinstance(guest.agent, _Restarting):
            guest.agent = old        # what is true: the old agent (maybe exited)
        raise
    finally:
        with _LOCK:
            _RESTARTING.discard(id(guest))


def stop_agent(guest) -> dict:
    """Stop trove-guestagent for good (SIGTERM), as when it dies and nothing
    restarts it: Trove then sees the guest's heartbeat age. `restart_agent`
    is the heal. The datastore container keeps running."""
    with _LOCK:
        if id(guest) in _RESTARTING:
            raise EngineError(f"the guest agent of {guest.instance_id} is restarting")
    old = guest.agent
    # the guest (its VM) lives on, so Nova keeps it ACTIVE: only the agent's
    # heartbeats stop (TroveGuest.alive reads agent_stopped)
    guest.agent_stopped = True
    if old is not None and old.poll() is None:
        guest._terminate(old, AGENT_STOP_GRACE)
    return {"stopped_pid": getattr(old, "pid", None), "stopped_at": time.time()}


def serve(servers: dict, path: str, method: str, body: dict) -> tuple[int, Any]:
    """The emulator's /faults routes: (status, body)."""
    match = ROUTE.match(path)
    if method != "POST" or match is None:
        return 404, {"error": f"no fault route {method} {path}"}
    server = servers.get(match["id"])
    if server is None or getattr(server, "guest", None) is None:
        return 404, {"error": f"server {match['id']} has no running guest"}
    fault = body.get("fault")
    if fault not in OPS:
        return 400, {"error": f"unknown fault {fault!r}; one of {', '.join(OPS)}"}
    try:
        return 200, {"fault": fault, **OPS[fault](server.guest)}
    except EngineError as exc:
        return 409, {"error": str(exc)}


OPS = {"kill_datastore": kill_datastore, "start_datastore": start_datastore,
       "restart_agent": restart_agent, "stop_agent": stop_agent,
       "datastore_state": datastore_state, "volume_state": volume_state}


class BoxFaults:
    """The box's GuestFaults: each call asks the daemon over loopback."""

    def __init__(self, emulator_url: str, timeout: float = 180.0):
        self.url = emulator_url.rstrip("/") + "/faults/v1/servers/"
        self.timeout = timeout

    def _ask(self, server_id: str, fault: str) -> dict:
        request = urllib.request.Request(self.url + server_id, method="POST",
                                         data=json.dumps({"fault": fault}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[-300:]
            raise EngineError(f"box fault {fault} on server {server_id}: {exc.code} "
                              f"{detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise InfraError(f"box fault {fault}: the box does not answer at {self.url}: "
                             f"{exc}", fix="trove-verify box status") from None

    def kill_datastore(self, server_id: str) -> dict:
        return self._ask(server_id, "kill_datastore")

    def start_datastore(self, server_id: str) -> dict:
        return self._ask(server_id, "start_datastore")

    def restart_agent(self, server_id: str) -> dict:
        return self._ask(server_id, "restart_agent")

    def stop_agent(self, server_id: str) -> dict:
        return self._ask(server_id, "stop_agent")

    def datastore_state(self, server_id: str) -> dict:
        return self._ask(server_id, "datastore_state")

    def volume_state(self, server_id: str) -> dict:
        return self._ask(server_id, "volume_state")


def server_id(status: dict, instance_id: str) -> str:
    """The emulated Nova server of a Trove instance, from the index the
    daemon writes when its guest boots."""
    from pathlib import Path
    index = Path(status["logs"]) / "instances" / f"{instance_id}.json"
    try:
        return json.loads(index.read_text())["server_id"]
    except (OSError, ValueError, KeyError):
        raise EngineError(f"the box has no guest for Trove instance {instance_id} "
                          f"(no {index})") from None
