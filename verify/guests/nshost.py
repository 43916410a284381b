"""Host-side plumbing for namespace guests: what this machine must allow,
commands with bounded waits, the /30 each guest link gets, process groups."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

from verify.errors import EngineError, WaitTimeout

# Private range for guest links: one /30 each (host .1, guest .2).
GUEST_NET = ipaddress.ip_network(os.environ.get("TROVE_VERIFY_GUEST_NET", "10.213.0.0/16"))
# Guests reach each other through the host (per-link forwarding on the host
# ends of the veths only); this route keeps any packet for the range that no
# guest owns from leaving the machine by the default route.
GUARD_ROUTE = ("unreachable", str(GUEST_NET))
TOOLS = ("ip", "unshare", "nsenter", "mount", "umount", "losetup", "mkfs.ext4", "resize2fs",
         "e2fsck", "chroot")


def unavailable() -> str | None:
    """Why namespace guests cannot run here, or None."""
    if os.geteuid() != 0:
        return "namespace guests need root (network namespaces, mounts, cgroups)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"namespace guests need {', '.join(missing)} (run tools/setup.sh)"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "namespace guests need overlayfs, which this kernel lacks"
    if not Path("/dev/loop-control").exists():
        return "namespace guests need loop devices (/dev/loop-control is missing)"
    if cgroup_base() is None:
        return "namespace guests need a writable memory cgroup (v2 or v1)"
    return None


def cgroup_base() -> tuple[Path, str] | None:
    """(parent directory, version) of a memory cgroup we can create children in."""
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").exists():
        if "memory" in (v2 / "cgroup.controllers").read_text().split() and os.access(v2, os.W_OK):
            return v2, "v2"
        return None
    v1 = v2 / "memory"
    if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
        return v1, "v1"
    return None


def sh(*argv: str, timeout: float = 30.0) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise WaitTimeout(f"{argv[0]} {argv[1] if len(argv) > 1 else ''} did not finish "
                          f"within {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise EngineError(f"namespace guest: `{' '.join(argv)}` failed: "
                          f"{proc.stderr.strip()[-300:]}")
    return proc.stdout


def used_networks() -> list[ipaddress.IPv4Network]:
    out = sh("ip", "-4", "-o", "addr", "show")
    nets = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    for line in sh("ip", "-4", "route", "show", "table", "all").splitlines():
        dest = line.split()[0] if line.split() else ""
        if dest == "unreachable" and line.split()[1] == str(GUEST_NET):
            continue        # our own guard route (see GUARD_ROUTE)
        if dest[:1].isdigit():
            nets.append(ipaddress.ip_network(dest, strict=False))
    return nets


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group pgid."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def plumb_link(link, record) -> tuple:
    """Create a claimed link (verify.guests.alloc): the guard route, the netns,
    the veth pair with one end inside, addresses and routes. Each piece is
    recorded (``record(kind, value, **extra)``) before it exists.
    Returns (host_ip, guest_ip)."""
    net, netns = link.net, link.netns
    host_if, guest_if = link.host_if, link.guest_if
    host_ip, guest_ip = list(net.hosts())
    # guard first: a packet for an address in the range that no guest
    # owns is dropped here instead of taking the default route out
    record("route", " ".join(GUARD_ROUTE), unless_links="tvh")
    sh("ip", "route", "replace", *GUARD_ROUTE)
    record("netns", netns)
    sh("ip", "netns", "add", netns)
    record("veth", host_if)
    sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", guest_if)
    sh("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
    sh("ip", "link", "set", guest_if, "netns", netns)
    sh("ip", "-n", netns, "link", "set", guest_if, "name", "eth0")
    sh("ip", "-n", netns, "addr", "add", f"{guest_ip}/30", "dev", "eth0")
    sh("ip", "-n", netns, "link", "set", "lo", "up")
    sh("ip", "-n", netns, "link", "set", "eth0", "up")
    sh("ip", "link", "set", host_if, "up")
    # guests reach each other (replication, clusters) through the host: route
    # the guest range via the host end, forward on the host ends of veths only
    sh("ip", "-n", netns, "route", "add", str(GUEST_NET), "via", str(host_ip))
    Path(f"/proc/sys/net/ipv4/conf/{host_if}/forwarding").write_text("1")
    return host_ip, guest_ip
