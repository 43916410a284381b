"""A namespace guest's data volume: a real ext4 filesystem image on a loop
device, mounted in the guest's own mount namespace; resize grows it the way
Trove's guest agent does. Mixed into NamespaceGuest."""

from __future__ import annotations

import os

from verify.errors import EngineError
from verify.guests.nshost import sh

DATA_ROOT = "/var/lib/trove-verify"
# The volume's flushes would each become an fsync of its backing file on the
# host (most of an engine's start-up here). Without barriers the guest's data
# still survives any engine or guest crash; only a host crash could lose it,
# and a test volume does not outlive the host. TROVE_VERIFY_VOLUME_OPTIONS=defaults
# restores full flushes.
VOLUME_OPTIONS = os.environ.get("TROVE_VERIFY_VOLUME_OPTIONS", "nobarrier")


class NamespaceVolume:
    """Needs from NamespaceGuest: path(), init_pid, root, volume, loop,
    volume_gb and _procs (running engines)."""

    def volume_size_bytes(self) -> int:
        st = os.statvfs(self.path(DATA_ROOT))
        return st.f_blocks * st.f_frsize

    def volume_size_gb(self) -> float:
        return self.volume_size_bytes() / (1 << 30)

    def _in_mount_ns(self, *argv: str) -> str:
        return sh("nsenter", "-t", str(self.init_pid), "-m", *argv)

    def resize_volume(self, new_gb: int) -> None:
        """Grow the data volume the way Trove's guest agent does: with the engine
        stopped, unmount, grow the file and the loop device, e2fsck, resize2fs,
        mount again (online resize needs CAP_SYS_RESOURCE, often absent)."""
        if new_gb <= self.volume_gb:
            raise EngineError(f"a volume only grows: {self.volume_gb} GB → {new_gb} GB")
        if self._procs:
            raise EngineError("stop the engine before resizing its volume")
        mp = str(self.root / DATA_ROOT.lstrip("/"))     # as the guest's mount table names it
        self._in_mount_ns("umount", mp)
        with open(self.volume, "r+b") as fh:
            fh.truncate(new_gb << 30)
        sh("losetup", "-c", self.loop)
        sh("e2fsck", "-f", "-p", self.loop, timeout=120)
        sh("resize2fs", self.loop, timeout=120)
        self._in_mount_ns("mount", "-o", VOLUME_OPTIONS, self.loop, mp)
        self.volume_gb = new_gb
