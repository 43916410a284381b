"""A ledger of everything a run creates, written before the thing exists.

Normal exit, failures and signals tear down through Ledger.teardown();
after a SIGKILL, ``cleanup_stale()`` (run at the start of every run and by
``trove-verify cleanup``) removes what the dead run left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from verify.settings import state_dir

KINDS = ("process", "dir", "mount", "netns", "veth", "cgroup", "loop", "route")


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _atomic_write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "w") as fh:
        json.dump(data, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Ledger:
    def __init__(self, run_id: str, directory: Path | None = None):
        self.run_id = run_id
        self.dir = directory or state_dir()
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.dir / f"{run_id}.json"
        self._lock = threading.Lock()
        self.entries: list[dict] = []
        self._save()

    def _save(self) -> None:
        _atomic_write(self.path, {"run_id": self.run_id, "owner": os.getpid(),
                                  "owner_start": _start_time(os.getpid()),
                                  "entries": self.entries})

    def add(self, kind: str, value: str | int, **extra) -> dict:
        assert kind in KINDS, kind
        entry = {"kind": kind, "value": value, **extra}
        if kind == "process":
            entry["start"] = _start_time(int(value))
        with self._lock:
            self.entries.append(entry)
            self._save()
        return entry

    def forget(self, entry: dict) -> None:
        with self._lock:
            if entry in self.entries:
                self.entries.remove(entry)
                self._save()

    def teardown(self) -> list[str]:
        with self._lock:
            removed = release(self.entries)
            self.entries = []
            self.path.unlink(missing_ok=True)
        return removed


def release(entries: list[dict]) -> list[str]:
    """Undo entries newest first; return a line per thing removed."""
    removed = []
    for entry in reversed(entries):
        kind, value = entry["kind"], entry["value"]
        if kind == "process":
            pid = int(value)
            if _start_time(pid) is not None and _start_time(pid) == entry.get("start"):
                _kill_group(pid)
                removed.append(f"process {pid}")
        elif kind == "mount":
            if _is_mounted(value):
                subprocess.run(["umount", "-l", value], capture_output=True)
                removed.append(f"mount {value}")
        elif kind == "netns":
            if Path(f"/run/netns/{value}").exists():
                subprocess.run(["ip", "netns", "delete", value], capture_output=True)
                removed.append(f"netns {value}")
        elif kind == "veth":
            if Path(f"/sys/class/net/{value}").exists():
                subprocess.run(["ip", "link", "delete", value], capture_output=True)
                removed.append(f"veth {value}")
        elif kind == "cgroup":
            path = Path(value)
            if path.exists():
                _kill_cgroup(path)
                removed.append(f"cgroup {value}")
        elif kind == "route":  # shared by guests: removed with the last link it guards
            prefix = entry.get("unless_links")
            if not (prefix and any(Path("/sys/class/net").glob(f"{prefix}*"))):
                if subprocess.run(["ip", "route", "del", *value.split()],
                                  capture_output=True).returncode == 0:
                    removed.append(f"route {value}")
        elif kind == "loop":   # value: the backing file; detach every device on it
            out = subprocess.run(["losetup", "-j", value], capture_output=True, text=True)
            for line in out.stdout.splitlines():
                device = line.split(":", 1)[0]
                subprocess.run(["losetup", "-d", device], capture_output=True)
                removed.append(f"loop {device}")
        elif kind == "dir":
            path = Path(value)
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(f"dir {value}")
    return removed


def _is_mounted(path: str) -> bool:
    try:
        mounts = Path("/proc/mounts").read_text().split("\n")
    except OSError:
        return False
    return any(line.split(" ")[1:2] == [path] for line in mounts if line)


def _kill_group(pid: int, grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if _start_time(pid) is None or _zombie(pid):
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _kill_cgroup(path: Path) -> None:
    kill = path / "cgroup.kill"
    if kill.exists():
        try:
            kill.write_text("1")
        except OSError:
            pass
    for _ in range(100):
        try:
            path.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def cleanup_stale(directory: Path | None = None) -> list[str]:
    """Release what runs whose owner process is gone left behind."""
    directory = directory or state_dir()
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
            continue
        owner = data.get("owner")
        if owner and _start_time(owner) is not None and _start_time(owner) == data.get(
                "owner_start"):
            continue  # that run is still alive
        removed += release(data.get("entries", []))
        path.unlink(missing_ok=True)
    return removed
