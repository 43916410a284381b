"""Host-process guests: the engine's Debian binaries on this host, run as an
unprivileged service user, listening on loopback only."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from verify import deadline
from verify.engines.base import STOP_GRACE, free_port, port_bindable, port_in_use
from verify.errors import EngineError, InfraError, PermissionNeeded, WaitTimeout
from verify.guests.base import Guest
from verify.guests.nshost import group_members
from verify.settings import SERVICE_USER, work_dir
from verify.state import Ledger

SAFE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def host_release() -> tuple[str, str]:
    fields = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            fields[key] = value.strip('"')
    except OSError:
        pass
    return fields.get("ID", ""), fields.get("VERSION_CODENAME", "")


def service_account() -> tuple[int, int] | None:
    """(uid, gid) to run servers as; None when not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=False, capture_output=True)
        try:
            entry = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise PermissionNeeded(f"service user {SERVICE_USER!r} is missing and could not "
                                   "be created", fix="run tools/setup.sh") from None
    return entry.pw_uid, entry.pw_gid


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def check_traversable(path: Path, account: tuple[int, int] | None) -> None:
    """The service user must reach its data directory through every parent."""
    if account is None:
        return
    for parent in [path, *path.parents]:
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            raise PermissionNeeded(
                f"the service user cannot enter {parent}, a parent of the work directory",
                fix="set TROVE_VERIFY_WORKDIR to a directory under a world-traversable path")


def wait_or_kill(proc: subprocess.Popen, timeout: float) -> None:
    """Wait for proc to exit; after timeout SIGKILL its process group."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class ProcessGuest(Guest):
    kind = name = "process"
    host_binaries = True
    address = "127.0.0.1"
    bind_address = "127.0.0.1"

    @classmethod
    def unavailable(cls, ds, version: str) -> str | None:
        """The host must be an OS the version ships in, or the engine must
        find a binary the user has (TROVE_VERIFY_MYSQLD ...)."""
        from verify import engines

        engine = engines.load(ds.engine_module) if ds.engine_module else None
        own = engine.host_unavailable if engine is not None else None
        family, release = host_release()
        shipped = [ds.os(o) for o in ds.version(version).os]
        if own is not None and not any(o.family == family and o.release == release
                                       for o in shipped):
            return own()
        if not any(o.family == family and o.release == release for o in shipped):
            where = ", ".join(o.name for o in shipped) or "no supported OS"
            return (f"cannot launch {ds.name} {version} on a process guest: this host is "
                    f"{family} {release} and the version ships in {where}")
        # an engine whose runtime comes from elsewhere than the OS archive
        # (Cassandra's jars) says what is missing here, if anything
        missing = engine.missing_here if engine is not None else None
        return missing(version) if missing else None

    @classmethod
    def create(cls, instance_id: str, ledger: Ledger, *, images, version: str,
               memory_mb: int, volume_gb: int) -> ProcessGuest:
        return cls(instance_id, ledger)

    def __init__(self, instance_id: str, ledger: Ledger):
        self.instance_id = instance_id
        self.ledger = ledger
        self.account = service_account()
        root = work_dir() / "instances" / instance_id
        check_traversable(work_dir().parent, self.account)
        self.ledger.add("dir", str(root))
        (work_dir() / "instances").mkdir(parents=True, exist_ok=True)
        os.chmod(work_dir(), 0o755)
        os.chmod(work_dir() / "instances", 0o755)
        root.mkdir(mode=0o700)
        self._chown(root)
        self.root = root
        self._procs: dict[int, tuple[subprocess.Popen, dict]] = {}

    @property
    def data_root(self) -> str:
        return str(self.root)

    def path(self, guest_path: str) -> Path:
        return Path(guest_path)

    def _chown(self, path: Path) -> None:
        if self.account:
            os.chown(path, *self.account)

    def _popen_kwargs(self) -> dict:
        kwargs = {"env": dict(SAFE_ENV, HOME=str(self.root)), "cwd": str(self.root)}
        if self.account:
            kwargs.update(user=self.account[0], group=self.account[1], extra_groups=[])
        # what the engine writes itself (Redis's ACL SAVE, ALTER SYSTEM) is its own only
        kwargs["umask"] = 0o077
        return kwargs

    def make_dirs(self, *guest_paths: str, mode: int = 0o700) -> None:
        for p in guest_paths:
            path = Path(p)
            path.mkdir(parents=True, exist_ok=True, mode=mode)
            self._chown(path)

    def write_file(self, guest_path: str, content: str, *, mode: int = 0o644) -> None:
        path = Path(guest_path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        os.chmod(path, mode)
        self._chown(path)

    def free_port(self) -> int:
        port = free_port(self.address)
        self.ledger.add("port", port, instance=self.instance_id)
        return port

    def engine_pids(self, proc) -> list[int]:
        # spawned as a session leader: its process group is the engine
        return group_members(proc.pid)

    def signal_engine(self, proc, sig: int) -> None:
        for pid in self.engine_pids(proc):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def port_free(self, port: int) -> bool:
        # the host's network: anyone may hold it, so ask by binding
        return port_bindable(self.bind_address, port)

    def run(self, argv: Sequence[str], *, timeout: float, env: dict | None = None,
            input: bytes | None = None, check: bool = True,
            as_root: bool = False) -> subprocess.CompletedProcess:
        timeout = deadline.bound(timeout, STOP_GRACE)   # the scenario's time left
        kwargs = self._popen_kwargs()
        if as_root:
            kwargs = {k: v for k, v in kwargs.items() if k not in ("user", "group",
                                                                     "extra_groups", "umask")}
        if env:
            kwargs["env"] = dict(kwargs["env"], **env)
        try:
            proc = subprocess.run(list(argv), input=input, capture_output=True,
                                  timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired:
            raise WaitTimeout(deadline.cut_short(argv[0]) or
                              f"{argv[0]} did not finish within {timeout:.0f}s") from None
        except FileNotFoundError:
            raise InfraError(f"{argv[0]} is not installed on this host",
                              fix="run tools/setup.sh") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-8:]
            raise EngineError(f"{argv[0]} exited {proc.returncode}: " + " | ".join(err))
        return proc

    def spawn(self, argv: Sequence[str], *, log_file: str,
              env: dict | None = None) -> subprocess.Popen:
        kwargs = self._popen_kwargs()
        if env:
            kwargs["env"] = dict(kwargs["env"], **env)
        log = open(log_file, "ab")
        self._chown(Path(log_file))
        try:
            proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    **kwargs)
        except FileNotFoundError:
            raise InfraError(f"{argv[0]} is not installed on this host",
                              fix="run tools/setup.sh") from None
        finally:
            log.close()
        entry = self.ledger.add("process", proc.pid, cmd=argv[0])
        self._procs[proc.pid] = (proc, entry)
        return proc

    def stop_process(self, proc: subprocess.Popen, *, timeout: float) -> None:
        timeout = deadline.bound(timeout, STOP_GRACE)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            os.killpg(proc.pid, signal.SIGCONT)  # a paused server must see the SIGTERM
        except ProcessLookupError:
            pass
        wait_or_kill(proc, timeout)
        # children that left the group are still in the session; sweep it
        _, entry = self._procs.pop(proc.pid, (None, None))
        if entry:
            self.ledger.forget(entry)

    def leftovers(self, port: int = 0) -> list[str]:
        """The host's own network and disk: the port and the data directory."""
        left = []
        if port and port_in_use(self.address, port):
            left.append(f"port {self.address}:{port} still answers")
        if self.root.exists():
            left.append(f"data directory {self.root} still exists")
        return left

    def destroy(self, timeout: float = 30.0) -> None:
        for proc, _ in list(self._procs.values()):
            self.stop_process(proc, timeout=timeout)
        until = time.monotonic() + 5
        while self.root.exists() and time.monotonic() < until:
            shutil.rmtree(self.root, ignore_errors=True)
        for entry in list(self.ledger.entries):
            if (entry["kind"] == "dir" and entry["value"] == str(self.root)) or \
                    entry.get("instance") == self.instance_id:
                self.ledger.forget(entry)
