"""What a run left behind, asked of the OS itself (ps, ss, /proc/mounts,
ip netns, cgroups, the work directory) rather than of the harness."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path


def ledger_entries(workdir: Path) -> list[dict]:
    """Every entry of every state file under workdir (read before cleanup)."""
    out = []
    for path in (workdir / "state").glob("*.json"):
        try:
            out += json.loads(path.read_text()).get("entries", [])
        except (OSError, ValueError):
            pass
    return out


def _ours(pid: int, workdir: Path) -> bool:
    prefix = str(workdir.resolve())
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return cwd.startswith(prefix) or prefix in cmd


def processes(workdir: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True,
                        check=True).stdout
    out = []
    for line in ps.splitlines():
        pid, stat, args = line.split(None, 2) if len(line.split(None, 2)) == 3 else (
            line.split() + ["", ""])[:3]
        if stat.startswith("Z"):
            continue
        if str(workdir) in args or (pid.isdigit() and _ours(int(pid), workdir)):
            out.append(f"process {pid} {args[:120]}")
    return out


def listeners(workdir: Path, ports: set[int]) -> list[str]:
    ss = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    out = []
    for line in ss.splitlines():
        cols = line.split()
        port = int(cols[3].rsplit(":", 1)[1])
        pids = [int(p) for p in re.findall(r"pid=(\d+)", line)]
        if any(_ours(p, workdir) for p in pids) or (port in ports and not pids):
            out.append(f"listener {cols[3]} {' '.join(cols[5:])}")
        elif port in ports and any(
                Path(f"/proc/{p}/comm").read_text().strip().startswith("mariadb")
                for p in pids if Path(f"/proc/{p}/comm").exists()):
            out.append(f"listener {cols[3]} on a recorded port: {' '.join(cols[5:])}")
    return out


def mounts(workdir: Path) -> list[str]:
    return [f"mount {line}" for line in Path("/proc/mounts").read_text().splitlines()
            if str(workdir) in line]


def netns(names: set[str]) -> list[str]:
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    return [f"netns {n}" for n in sorted(names & listed)]


def cgroups(paths: set[str], run_ids: set[str]) -> list[str]:
    out = [f"cgroup {p}" for p in sorted(paths) if Path(p).exists()]
    root = Path("/sys/fs/cgroup")
    if run_ids and root.is_dir():
        for path in root.glob("**/*trove-verify*"):
            if any(r in str(path) for r in run_ids):
                out.append(f"cgroup {path}")
    return out


def files(workdir: Path) -> list[str]:
    out = []
    instances = workdir / "instances"
    if instances.is_dir():
        out += [f"instance dir {p}" for p in instances.iterdir()]
    templates = workdir / "templates"
    if templates.is_dir():
        out += [f"half-made template {p}" for p in templates.glob("*.tmp-*")]
    state = workdir / "state"
    if state.is_dir():
        locks = (".cleanup.lock",)
        out += [f"state {p.name}" for p in state.iterdir() if p.name not in locks]
    return out


def leftovers(workdir: Path, entries: list[dict], run_ids: set[str] = frozenset()) -> list[str]:
    """Everything of ours the OS still has; empty when the harness left nothing."""
    ports = {int(e["value"]) for e in entries if e["kind"] == "port"}
    return (processes(workdir) + listeners(workdir, ports) + mounts(workdir)
            + netns({e["value"] for e in entries if e["kind"] == "netns"})
            + cgroups({e["value"] for e in entries if e["kind"] == "cgroup"}, set(run_ids))
            + files(workdir))
