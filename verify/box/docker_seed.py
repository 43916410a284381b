"""Docker seeds for the box's Trove guests: guest.py plants and keeps them,
the box keeps them in its run directory (removed with it)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
from pathlib import Path

from verify.box import containers


class DockerSeed:
    """A guest's docker data root just after its images were loaded, kept so
    the next guest of the same images starts from it instead of `docker load`
    (about 10 s of CPU per guest; 1 s like this).

    The image layers (overlay2/) are hard links: Docker never writes a loaded
    layer (a container writes to its own upper layer, and overlayfs copies a
    file up before changing it), and removing a guest only unlinks. Docker's
    metadata (image/) is small and copied, so no guest's dockerd ever writes
    into another's. A seed is written beside its place and renamed into it,
    so a half-written seed is never planted."""

    PARTS = (("overlay2", "-al"), ("image", "-a"))   # linked layers, copied metadata

    def __init__(self, seeds: Path, archives: list[containers.ContainerImage],
                 pulls: list[str] = ()):
        key = [a.sha256[:16] for a in sorted(archives, key=lambda a: a.name)]
        key += [ref.rpartition("@sha256:")[2][:16] for ref in sorted(pulls)]
        self.dir = seeds / "-".join(key)

    @contextlib.contextmanager
    def lock(self, timeout: float):
        """Held while a seed is made or planted (flock: also between threads).
        Yields False when another guest held it for all of timeout."""
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        end = time.monotonic() + timeout
        with open(self.dir.with_name(self.dir.name + ".lock"), "w") as fh:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > end:
                        yield False
                        return
                    time.sleep(0.2)
            yield True

    def plant(self, docker_root: Path) -> bool:
        """Fill an empty docker_root from the seed; False when there is none
        (or it cannot be linked, e.g. across filesystems: then load)."""
        if not self.dir.is_dir():
            return False
        if self._copy(self.dir, docker_root):
            return True
        for part, _flag in self.PARTS:
            subprocess.run(["rm", "-rf", str(docker_root / part)], timeout=120)
        return False

    def keep(self, docker_root: Path) -> None:
        """Leave docker_root's loaded images as the seed (the first guest wins)."""
        if self.dir.exists():
            return
        self.dir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.dir.with_name(f"{self.dir.name}.{os.getpid()}.{time.monotonic_ns()}.partial")
        tmp.mkdir()
        try:
            if self._copy(docker_root, tmp):
                tmp.rename(self.dir)
        except OSError:      # another guest kept its seed first
            pass
        finally:
            subprocess.run(["rm", "-rf", str(tmp)], timeout=120)

    def _copy(self, src: Path, dst: Path) -> bool:
        return all(subprocess.run(["cp", flag, str(src / part), str(dst / part)],
                                  capture_output=True, timeout=120).returncode == 0
                   for part, flag in self.PARTS)
