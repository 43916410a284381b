"""What undoes each host resource a namespace guest makes: its network
namespace, its veth, the guard route, its memory cgroup and the loop device
of its volume. Registered with the ledger (verify.state) by kind, so that
Ledger.teardown() and a cleanup after a SIGKILL find them. Each does nothing
when the thing is already gone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from verify.state import releaser

CGROUP_ROOT = Path("/sys/fs/cgroup")


# kinds named by a device the kernel shows while it exists: where it shows,
# and the command that removes it
_NAMED = {
    "netns": ("/run/netns/{}", ("ip", "netns", "delete")),
    "veth": ("/sys/class/net/{}", ("ip", "link", "delete")),
}


def _named_releaser(kind: str, shown_at: str, remove: tuple[str, ...]):
    def release(entry: dict, root: Path | None) -> list[str]:
        value = entry["value"]
        if Path(shown_at.format(value)).exists():
            subprocess.run([*remove, value], capture_output=True, timeout=60)
            return [f"{kind} {value}"]
        return []
    release.__name__ = f"release_{kind}"
    return release


for _kind, (_shown_at, _remove) in _NAMED.items():
    releaser(_kind)(_named_releaser(_kind, _shown_at, _remove))


@releaser("cgroup")
def release_cgroup(entry: dict, root: Path | None) -> list[str]:
    path = Path(entry["value"])
    if path.resolve().is_relative_to(CGROUP_ROOT) and path != CGROUP_ROOT and path.exists():
        _kill_cgroup(path)
        return [f"cgroup {path}"]
    return []


@releaser("route")
def release_route(entry: dict, root: Path | None) -> list[str]:
    """Shared by guests: removed with the last link it guards."""
    value, prefix = entry["value"], entry.get("unless_links")
    if prefix and any(Path("/sys/class/net").glob(f"{prefix}*")):
        return []
    if subprocess.run(["ip", "route", "del", *value.split()], capture_output=True,
                      timeout=60).returncode == 0:
        return [f"route {value}"]
    return []


@releaser("loop")
def release_loop(entry: dict, root: Path | None) -> list[str]:
    """value: the backing file; every device on it is detached."""
    out = subprocess.run(["losetup", "-j", entry["value"]], capture_output=True, text=True,
                         timeout=60)
    devices = [line.split(":", 1)[0] for line in out.stdout.splitlines()]
    for device in devices:
        subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)
    return [f"loop {d}" for d in devices]


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
