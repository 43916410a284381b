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

The ledger only records and replays. What undoes an entry is registered by
the module that creates that kind of resource (``@releaser("netns")`` in
verify/guests/nsrelease.py); an entry records that module, so a cleanup in
a fresh process (after a SIGKILL) imports it and finds the releaser by kind.
Processes, directories, ports and mounts, which more than one layer makes,
are released here.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from verify.errors import InfraError
from verify.settings import state_dir

# kind -> (module that registered it, what undoes an entry of that kind)
Releaser = Callable[[dict, "Path | None"], list[str]]
_RELEASERS: dict[str, tuple[str, Releaser]] = {}
# entries recorded before releasers named their module
_FORMER_OWNERS = dict.fromkeys(("netns", "veth", "cgroup", "loop", "route"),
                               "verify.guests.nsrelease")


def releaser(kind: str) -> Callable[[Releaser], Releaser]:
    """Register fn(entry, root) -> lines as what releases entries of kind.
    It must do nothing when the thing is already gone (cleanup reruns)."""
    def register(fn: Releaser) -> Releaser:
        _RELEASERS[kind] = (fn.__module__, fn)
        return fn
    return register


def kinds() -> tuple[str, ...]:
    """The kinds a ledger accepts now (each with its releaser)."""
    return tuple(_RELEASERS)


def _releaser_for(entry: dict) -> Releaser | None:
    kind = entry.get("kind")
    if kind not in _RELEASERS:
        module = entry.get("releaser") or _FORMER_OWNERS.get(kind)
        # only the harness's own modules: a torn or hand-edited state file
        # must never make cleanup import anything else
        if isinstance(module, str) and module.startswith("verify."):
            try:
                importlib.import_module(module)
            except ImportError:
                return None
    found = _RELEASERS.get(kind)
    return found[1] if found else None


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
        if kind not in _RELEASERS and _releaser_for({"kind": kind}) is None:
            # (a kind's former owner is imported on demand, as cleanup does)
            raise ValueError(f"unknown ledger kind {kind!r}: no releaser registered for it")
        entry = {"kind": kind, "value": value, **extra}
        module = _RELEASERS[kind][0]
        if module != __name__:      # cleanup in a fresh process imports it again
            entry["releaser"] = module
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
            undo = _releaser_for(entry)
            if undo is None:
                raise ValueError("no releaser registered for this kind")
            removed += undo(entry, root)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            removed.append(f"FAILED {entry.get('kind')} {entry.get('value')}: {exc}")
    return removed


@releaser("process")
def _release_process(entry: dict, root: Path | None) -> list[str]:
    pid = int(entry["value"])
    if alive(pid, entry.get("start")):
        _kill_group(pid)
        return [f"process {pid} ({entry.get('cmd', '?')})"]
    return []


@releaser("port")
def _release_port(entry: dict, root: Path | None) -> list[str]:
    value = entry["value"]
    pids = [p for p in _listeners(int(value)) if root and _inside(p, root)]
    for pid in pids:
        _kill_group(pid)
    return [f"port {value} (held by {', '.join(map(str, pids))})"] if pids else []


@releaser("mount")
def _release_mount(entry: dict, root: Path | None) -> list[str]:
    value = entry["value"]
    if _is_mounted(value):
        subprocess.run(["umount", "-l", value], capture_output=True, timeout=60)
        return [f"mount {value}"]
    return []


@releaser("dir")
def _release_dir_entry(entry: dict, root: Path | None) -> list[str]:
    return _release_dir(Path(entry["value"]), root)


def _release_dir(path: Path, root: Path | None) -> list[str]:
    # a torn or hand-edited state file must never make us delete /home
    if root is None or not path.is_absolute() or not path.resolve().is_relative_to(
            root.resolve()) or path.resolve() == root.resolve():
        return [f"REFUSED dir {path}: not below the work directory {root}"]
    out = []
    for pid in _processes_using(path):
        _kill_group(pid)
        out.append(f"process {pid} (running in {path})")
    # what was mounted below it (an image build's binds of the host's /dev,
    # /proc, /sys): unmounted first, so rmtree never reaches through a mount
    out += _unmount_below(path)
    if _mounts_below(path):
        return out + [f"REFUSED dir {path}: still has mounts below it"]
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        out.append(f"dir {path}")
    return out


def _mounts_below(path: Path) -> list[str]:
    """Mount points at or below path, deepest first."""
    prefix = str(path.resolve())
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    points = []
    for line in lines:
        fields = line.split(" ")
        if len(fields) < 2:
            continue
        point = fields[1].encode().decode("unicode_escape")   # \040 for a space
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return sorted(points, key=lambda p: p.count("/"), reverse=True)


def _unmount_below(path: Path) -> list[str]:
    out: list[str] = []
    for _ in range(5):     # stacked mounts show one layer per pass
        points = _mounts_below(path)
        if not points:
            break
        for point in points:
            if subprocess.run(["umount", point], capture_output=True,
                              timeout=60).returncode != 0:
                # busy: detached from the tree at once, freed when its users go
                subprocess.run(["umount", "-l", point], capture_output=True, timeout=60)
            out.append(f"mount {point}")
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
