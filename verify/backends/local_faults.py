"""Fault injection (the nemesis) for the local backend: kill, pause and resume
an instance's server; cut and heal its network; fill its data volume.

Each fault needs a feature of the guest (verify.guests.base: EngineSignals,
LinkFaults, VolumeFaults); a guest without it (a process guest shares the
host's loopback and disk) raises NotSupported with the reason.
"""

from __future__ import annotations

import signal
from pathlib import Path

from verify import guests
from verify.backends.base import Instance
from verify.engines.base import wait_for
from verify.errors import NotSupported
from verify.guests.base import EngineSignals, LinkFaults, VolumeFaults

_NEEDS = {LinkFaults: "a network link of its own", VolumeFaults: "a data volume of its own",
          EngineSignals: "signals to the engine's own processes"}


def _engine(instance: Instance):
    proc = instance.extra["server"].process
    if proc is None:
        raise NotSupported(f"instance {instance.id} has no running server to fault")
    return _featured(instance.extra["guest"], EngineSignals, "signalling the engine"), proc


def _lacks(kind: str, feature: type, what: str) -> NotSupported:
    having = [k for k in guests.KINDS if issubclass(guests.guest_class(k), feature)]
    return NotSupported(f"{what} needs a guest with {_NEEDS[feature]} (a "
                        f"{' or '.join(having) or 'no'} guest): a {kind} guest shares the "
                        "host's network and disk")


def _featured(guest, feature: type, what: str):
    """guest, when it has the feature; else NotSupported saying what it lacks."""
    if not isinstance(guest, feature):
        raise _lacks(guest.name, feature, what)
    return guest


def _all_stopped(pids: list[int]) -> bool:
    for pid in pids:
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in ("T", "t", "Z", "X"):
                    return False
        except OSError:
            continue       # exited meanwhile
    return True


class LocalFaults:
    """Mixed into LocalBackend."""

    def kill_server(self, instance: Instance) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        guest, proc = _engine(instance)
        guest.signal_engine(proc, signal.SIGKILL)
        proc.wait(timeout=self.timeouts.engine_stop)
        instance.status = "SHUTDOWN"

    def pause_server(self, instance: Instance) -> None:
        """SIGSTOP, and return only once every thread of the server is stopped
        (kill() returns before a busy multi-threaded server has stopped)."""
        guest, proc = _engine(instance)
        guest.signal_engine(proc, signal.SIGSTOP)
        wait_for(lambda: _all_stopped(guest.engine_pids(proc)),
                 timeout=self.timeouts.engine_stop,
                 what=f"server {proc.pid} stopping on SIGSTOP", interval=0.005)

    def resume_server(self, instance: Instance) -> None:
        guest, proc = _engine(instance)
        guest.signal_engine(proc, signal.SIGCONT)

    def fault_possible(self, kind: str) -> None:
        """Raise NotSupported before anything is created when the guest kind cannot."""
        if kind == "agent":
            raise NotSupported(self.NOT_SUPPORTED["restart_agent"])
        feature, what = {"network": (LinkFaults, "cutting a network link"),
                         "volume": (VolumeFaults, "filling a data volume")}.get(kind,
                                                                                 (None, ""))
        if feature is not None and not issubclass(self.guest_class, feature):
            raise _lacks(self.guest, feature, what)

    def cut_network(self, instance: Instance) -> None:
        _featured(instance.extra["guest"], LinkFaults, "cutting a network link").link_down()

    def heal_network(self, instance: Instance) -> None:
        _featured(instance.extra["guest"], LinkFaults, "healing a network link").link_up()

    def fill_volume(self, instance: Instance) -> None:
        _featured(instance.extra["guest"], VolumeFaults, "filling a data volume").fill_volume()

    def free_volume(self, instance: Instance) -> None:
        _featured(instance.extra["guest"], VolumeFaults, "freeing a data volume").free_volume()
