"""A minimal image guest for engine tests: the cached Debian sid root
filesystem under an overlayfs, commands run through chroot as root with the
engine dropping to the image's own service user. Loopback networking only.

The full namespace guest (netns, pid namespace) is verify/guests/namespace.py;
this keeps the MySQL engine's tests independent of it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path

from verify.engines.base import free_port, port_bindable
from verify.errors import EngineError, WaitTimeout
from verify.settings import cache_dir, work_dir

SID_MYSQL_ROOTFS = cache_dir() / "rootfs" / "debian-sid-mysql"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C.UTF-8", "HOME": "/root"}


def rootfs_ready(root: Path = SID_MYSQL_ROOTFS) -> bool:
    return (root / ".trove-verify-manifest").is_file()


class RootfsGuest:
    name = "namespace"
    host_binaries = False
    address = "127.0.0.1"
    bind_address = "127.0.0.1"
    service_user = "mysql"

    image = None

    def __init__(self, rootfs: Path = SID_MYSQL_ROOTFS):
        self.rootfs = rootfs
        self.top = work_dir() / "instances" / f"rootfs-{uuid.uuid4().hex[:8]}"
        self.merged = self.top / "merged"
        for d in ("upper", "work", "merged"):
            (self.top / d).mkdir(parents=True)
        self._mounts: list[Path] = []
        self._mount(["-t", "overlay", "overlay", "-o",
                     f"lowerdir={rootfs},upperdir={self.top}/upper,workdir={self.top}/work"],
                    self.merged)
        self._mount(["-t", "proc", "proc"], self.merged / "proc")
        # /dev comes from the image (debootstrap made its nodes): never bind
        # the host's /dev, which a failed unmount plus rmtree would empty
        uid, gid = self._ids()
        self.uid, self.gid = uid, gid
        self._procs: dict[int, subprocess.Popen] = {}

    def _mount(self, args: list[str], target: Path) -> None:
        target.mkdir(exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True, capture_output=True)
        self._mounts.append(target)

    def _ids(self) -> tuple[int, int]:
        for line in (self.merged / "etc/passwd").read_text().splitlines():
            f = line.split(":")
            if f[0] == self.service_user:
                return int(f[2]), int(f[3])
        raise EngineError(f"no {self.service_user} user in {self.rootfs}")

    @property
    def data_root(self) -> str:
        return "/var/lib/trove-verify"

    def path(self, guest_path: str) -> Path:
        return self.merged / guest_path.lstrip("/")

    def make_dirs(self, *guest_paths: str, mode: int = 0o700) -> None:
        for p in guest_paths:
            path = self.path(p)
            path.mkdir(parents=True, exist_ok=True, mode=mode)
            os.chown(path, self.uid, self.gid)

    def write_file(self, guest_path: str, content: str, *, mode: int = 0o644) -> None:
        path = self.path(guest_path)
        path.write_text(content)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)

    def free_port(self) -> int:
        return free_port(self.address)

    def port_free(self, port: int) -> bool:
        return port_bindable(self.bind_address, port)

    def run(self, argv: Sequence[str], *, timeout: float, env: dict | None = None,
            input: bytes | None = None, check: bool = True,
            as_root: bool = False) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(["chroot", str(self.merged), *argv], input=input,
                                  capture_output=True, timeout=timeout,
                                  env=dict(ENV, **(env or {})))
        except subprocess.TimeoutExpired:
            raise WaitTimeout(f"{argv[0]} did not finish within {timeout:.0f}s") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-8:]
            raise EngineError(f"{argv[0]} exited {proc.returncode}: " + " | ".join(err))
        return proc

    def spawn(self, argv: Sequence[str], *, log_file: str,
              env: dict | None = None) -> subprocess.Popen:
        with open(self.path(log_file), "ab") as log:
            proc = subprocess.Popen(["chroot", str(self.merged), *argv], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=dict(ENV, **(env or {})))
        self._procs[proc.pid] = proc
        return proc

    def stop_process(self, proc: subprocess.Popen, *, timeout: float) -> None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        self._procs.pop(proc.pid, None)

    def destroy(self, timeout: float = 30.0) -> None:
        for proc in list(self._procs.values()):
            self.stop_process(proc, timeout=timeout)
        for target in reversed(self._mounts):
            subprocess.run(["umount", str(target)], capture_output=True)
        if any(os.path.ismount(t) for t in self._mounts):
            raise EngineError(f"could not unmount {self.merged}; left it in place")
        shutil.rmtree(self.top, ignore_errors=True)
