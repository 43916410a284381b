"""A ledger of everything a run creates, written before the thing exists.

Normal exit, failures and signals tear down through Ledger.teardown();
after a SIGKILL, ``cleanup_stale()`` (run at the start of every run and by
``trove-verify cleanup``) removes what the dead run left behind.

Why it is safe to run at any time, any number of times:
- a run is alive when its owner PID exists *with the same start time*
  (a recycled PID never makes a dead run look alive, nor the reverse);
- a recorded process is killed only if its start time still matches;
- a recorded directory is removed only under the work directory, after
  killing every process whose cwd or command line lies inside it (this
  catches a server spawned in the instant before its PID was recorded,
  and tools such as mariadb-install-db that are never recorded);
- releasing what is already gone does nothing, so a cleanup killed half
  way is simply run again.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from verify.errors import InfraError
from verify.settings import state_dir

KINDS = ("process", "dir", "mount", "netns", "veth", "cgroup", "port", "loop",
         "route")
CGROUP_ROOT = Path("/sys/fs/cgroup")


class LedgerClosed(RuntimeError):
    """The run is tearing down: nothing new may be created."""


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def alive(pid: int, start: str | None) -> bool:
    """pid is the very process recorded (not a recycled PID)."""
    return start is not None and _start_time(pid) == start and not _zombie(pid)


def _atomic_write(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        # the harness's own disk (full, read-only): infra, never the engine's fault
        tmp.unlink(missing_ok=True)
        raise InfraError(f"could not write the run's ledger {path}: {exc.strerror}",
                         fix=f"free space under {path.parent}") from exc


class Ledger:
    def __init__(self, run_id: str, directory: Path | None = None):
        self.run_id = run_id
        self.dir = directory or state_dir()
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.dir / f"{run_id}.json"
        self._lock = threading.Lock()
        self.entries: list[dict] = []
        self.closed = False
        self._save()

    @property
    def root(self) -> Path:
        """Directories may only be released below this one (the work dir)."""
        return self.dir.parent

    def _save(self) -> None:
        _atomic_write(self.path, {"run_id": self.run_id, "owner": os.getpid(),
                                  "owner_start": _start_time(os.getpid()),
                                  "entries": self.entries})

    def add(self, kind: str, value: str | int, **extra) -> dict:
        if kind not in KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}")
        entry = {"kind": kind, "value": value, **extra}
        if kind == "process":
            entry["start"] = _start_time(int(value))
        with self._lock:
            if self.closed:
                # a worker thread still creating while the run tears down:
                # undo at once instead of leaking it
                release([entry], self.root)
                raise LedgerClosed(f"run {self.run_id} is tearing down; {kind} refused")
            # kept in memory even when the write fails: some callers record
            # what already exists (a spawned pid), and teardown must undo it
            self.entries.append(entry)
            self._save()
        return entry

    def forget(self, entry: dict) -> None:
        with self._lock:
            if entry in self.entries:
                self.entries.remove(entry)
                if not self.closed:
                    self._save()

    def close(self) -> None:
        """Refuse new entries (teardown follows)."""
        with self._lock:
            self.closed = True

    def teardown(self) -> list[str]:
        with self._lock:
            self.closed = True
            removed = release(self.entries, self.root)
            self.entries = []
            self.path.unlink(missing_ok=True)
        return removed


def release(entries: list[dict], root: Path | None = None) -> list[str]:
    """Undo entries newest first; return a line per thing removed."""
    removed: list[str] = []
    for entry in reversed(entries):
        try:
            removed += _release_one(entry, root)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            removed.append(f"FAILED {entry.get('kind')} {entry.get('value')}: {exc}")
    return removed


def _release_one(entry: dict, root: Path | None) -> list[str]:
    kind, value = entry["kind"], entry["value"]
    if kind == "process":
        pid = int(value)
        if alive(pid, entry.get("start")):
            _kill_group(pid)
            return [f"process {pid} ({entry.get('cmd', '?')})"]
    elif kind == "port":
        pids = [p for p in _listeners(int(value)) if root and _inside(p, root)]
        for pid in pids:
            _kill_group(pid)
        if pids:
            return [f"port {value} (held by {', '.join(map(str, pids))})"]
    elif kind == "mount":
        if _is_mounted(value):
            subprocess.run(["umount", "-l", value], capture_output=True, timeout=60)
            return [f"mount {value}"]
    elif kind == "netns":
        if Path(f"/run/netns/{value}").exists():
            subprocess.run(["ip", "netns", "delete", value], capture_output=True, timeout=60)
            return [f"netns {value}"]
    elif kind == "veth":
        if Path(f"/sys/class/net/{value}").exists():
            subprocess.run(["ip", "link", "delete", value], capture_output=True, timeout=60)
            return [f"veth {value}"]
    elif kind == "cgroup":
        path = Path(value)
        if path.resolve().is_relative_to(CGROUP_ROOT) and path != CGROUP_ROOT \
                and path.exists():
            _kill_cgroup(path)
            return [f"cgroup {value}"]
    elif kind == "route":  # shared by guests: removed with the last link it guards
        prefix = entry.get("unless_links")
        if not (prefix and any(Path("/sys/class/net").glob(f"{prefix}*"))):
            if subprocess.run(["ip", "route", "del", *value.split()], capture_output=True,
                              timeout=60).returncode == 0:
                return [f"route {value}"]
    elif kind == "loop":   # value: the backing file; detach every device on it
        out = subprocess.run(["losetup", "-j", value], capture_output=True, text=True,
                             timeout=60)
        devices = [line.split(":", 1)[0] for line in out.stdout.splitlines()]
        for device in devices:
            subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)
        return [f"loop {d}" for d in devices]
    elif kind == "dir":
        return _release_dir(Path(value), root)
    return []


def _release_dir(path: Path, root: Path | None) -> list[str]:
    # a torn or hand-edited state file must never make us delete /home
    if root is None or not path.is_absolute() or not path.resolve().is_relative_to(
            root.resolve()) or path.resolve() == root.resolve():
        return [f"REFUSED dir {path}: not below the work directory {root}"]
    out = []
    for pid in _processes_using(path):
        _kill_group(pid)
        out.append(f"process {pid} (running in {path})")
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        out.append(f"dir {path}")
    return out


def _processes_using(path: Path) -> list[int]:
    """PIDs whose cwd or command line lies inside path (never our own)."""
    prefix = str(path.resolve())
    me = os.getpid()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + "/") or f"{prefix}/" in cmd:
            found.append(int(proc.name))
    return found


def _inside(pid: int, root: Path) -> bool:
    return pid in _processes_using(root)


def _listeners(port: int) -> list[int]:
    """PIDs holding a listening TCP socket on port (any address)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    pids = []
    if not inodes:
        return pids
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    pids.append(int(proc.name))
                    break
        except OSError:
            continue
    return pids


def _is_mounted(path: str) -> bool:
    try:
        mounts = Path("/proc/mounts").read_text().split("\n")
    except OSError:
        return False
    return any(line.split(" ")[1:2] == [path] for line in mounts if line)


def _kill_group(pid: int, grace: float = 5.0) -> None:
    start = _start_time(pid)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for target in (lambda s: os.killpg(pid, s), lambda s: os.kill(pid, s)):
            try:
                target(sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.kill(pid, signal.SIGCONT)  # a paused (SIGSTOPped) server must see SIGTERM
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not alive(pid, start):
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _kill_cgroup(path: Path) -> None:
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        _kill_cgroup(child)
    kill = path / "cgroup.kill"
    if kill.exists():
        try:
            kill.write_text("1")
        except OSError:
            pass
    else:  # cgroup v1 has no cgroup.kill: kill its members one by one
        try:
            members = (path / "cgroup.procs").read_text().split()
        except OSError:
            members = []
        for pid in members:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    for _ in range(100):
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def cleanup_stale(directory: Path | None = None) -> list[str]:
    """Release what runs whose owner process is gone left behind.

    Holds an exclusive lock so two cleanups never interleave; a live run
    (same PID, same start time) is never touched.
    """
    directory = directory or state_dir()
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    with open(directory / ".cleanup.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for path in sorted(directory.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                entries = list(data.get("entries", []))
                owner, owner_start = int(data.get("owner") or 0), data.get("owner_start")
            except (OSError, ValueError, TypeError, AttributeError):
                # never silently drop what might list live servers
                path.rename(path.with_suffix(".unreadable"))
                removed.append(f"REFUSED state file {path}: unreadable, kept as .unreadable")
                continue
            if owner and alive(owner, owner_start):
                continue  # that run is still alive
            # dirs are released only below the work dir this state dir belongs
            # to, whatever the file claims
            removed += release(entries, directory.parent)
            run_id = path.stem
            for scratch in directory.glob(f"{run_id}-*"):
                if scratch.is_dir():
                    shutil.rmtree(scratch, ignore_errors=True)
                    removed.append(f"dir {scratch}")
            path.unlink(missing_ok=True)
        removed += _stale_templates(directory.parent / "templates")
        for tmp in directory.glob(".*.json.tmp*"):
            pid = tmp.name.rsplit(".tmp", 1)[1].split(".")[0]
            if pid.isdigit() and _start_time(int(pid)) is None:
                tmp.unlink(missing_ok=True)
    return removed


def _stale_templates(store: Path, age: float = 300.0) -> list[str]:
    """Half-made engine templates (a run killed during mariadb-install-db):
    unused by any process and untouched for `age` seconds."""
    out = []
    for tmp in store.glob("*.tmp-*") if store.is_dir() else []:
        try:
            old = time.time() - tmp.stat().st_mtime > age
        except OSError:
            continue
        if old and tmp.is_dir() and not _processes_using(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
            out.append(f"dir {tmp} (a half-made template)")
    return out
