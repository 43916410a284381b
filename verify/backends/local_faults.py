"""Fault injection (the nemesis) for the local backend: kill, pause and resume
an instance's server; cut and heal its network; fill its data volume.

Process guests share the host's loopback and have no volume of their own, so
network and volume faults raise NotSupported there (namespace guests only).
"""

from __future__ import annotations

import signal
from pathlib import Path

from verify.backends.base import Instance
from verify.engines.base import wait_for
from verify.errors import NotSupported


def _engine(instance: Instance):
    proc = instance.extra["server"].process
    if proc is None:
        raise NotSupported(f"instance {instance.id} has no running server to fault")
    return instance.extra["guest"], proc


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

    def _guest_fault(self, instance: Instance | None, verb: str, what: str):
        guest = instance.extra["guest"] if instance is not None else None
        action = getattr(guest, verb, None)
        if action is None:
            raise NotSupported(f"{what} needs a namespace guest: a {self.guest} guest shares "
                               "the host's network and disk")
        return action

    def fault_possible(self, kind: str) -> None:
        """Raise NotSupported before anything is created when the guest cannot."""
        if kind in ("network", "volume") and self.guest == "process":
            what = "cutting a network link" if kind == "network" else "filling a data volume"
            raise NotSupported(f"{what} needs a namespace guest: a process guest shares the "
                               "host's network and disk")

    def cut_network(self, instance: Instance) -> None:
        self._guest_fault(instance, "link_down", "cutting a network link")()

    def heal_network(self, instance: Instance) -> None:
        self._guest_fault(instance, "link_up", "healing a network link")()

    def fill_volume(self, instance: Instance) -> None:
        self._guest_fault(instance, "fill_volume", "filling a data volume")()

    def free_volume(self, instance: Instance) -> None:
        self._guest_fault(instance, "free_volume", "freeing a data volume")()
