"""Faults a namespace guest delivers: signals to its engine (not nsenter), a
cut link, a full volume.
Mixed into NamespaceGuest; the nemesis scenarios reach them through the
local backend (verify/backends/local_faults.py)."""

from __future__ import annotations

import os
import subprocess

from verify.guests.nshost import group_members

FILL_FILE = "nemesis-fill"


class NamespaceFaults:
    """Needs from NamespaceGuest: host_if, run(), DATA_ROOT via data_root."""

    def engine_pids(self, proc: subprocess.Popen) -> list[int]:
        # the spawned pid is nsenter; the engine is its child, in its group
        return [pid for pid in group_members(proc.pid) if pid != proc.pid]

    def signal_engine(self, proc: subprocess.Popen, sig: int) -> None:
        """The engine only, never nsenter: a SIGKILLed nsenter would orphan the
        engine to the host's init, whose slow reaping left a zombie that MySQL's
        socket lock took for a live server after a crash-restart."""
        for pid in self.engine_pids(proc):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def link_down(self) -> None:
        """Cut the guest off: its host-side veth goes down (no traffic leaves)."""
        subprocess.run(["ip", "link", "set", self.host_if, "down"], check=True,
                       capture_output=True, timeout=30)

    def link_up(self) -> None:
        subprocess.run(["ip", "link", "set", self.host_if, "up"], check=True,
                       capture_output=True, timeout=30)

    def fill_volume(self) -> None:
        """Take every free block of the data volume (fallocate fails when full,
        so a dd of zeros tops up what it could not reserve)."""
        target = f"{self.data_root}/{FILL_FILE}"
        self.run(["sh", "-c", f"fallocate -l $(df --output=avail -B1 {self.data_root} | "
                              f"tail -1) {target} 2>/dev/null; "
                              f"dd if=/dev/zero of={target}.top bs=1M 2>/dev/null; true"],
                 timeout=120, as_root=True)

    def free_volume(self) -> None:
        target = f"{self.data_root}/{FILL_FILE}"
        self.run(["rm", "-f", target, f"{target}.top"], timeout=60, as_root=True,
                 check=False)
