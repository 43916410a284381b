"""Machine-wide allocation of guest links: the /30, the veth pair's names and
the netns name. 10.213.0.0/16 and the kernel's interface and netns names
belong to the whole machine, not to one work dir, so every trove-verify on
the machine takes them under one lock in RUN_DIR (default /run/trove-verify).

Each claim is recorded with its owner's PID and start time; a claim whose
owner is gone (a SIGKILLed run) is dropped at the next allocation. What that
run left on the host (its veth still holding the /30) is seen by
``used_networks()`` until its ledger's cleanup removes it, so a stale /30 is
never handed out twice either."""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from verify.errors import EngineError
from verify.guests.nshost import GUEST_NET, used_networks
from verify.state import _start_time, alive

RUN_DIR = Path(os.environ.get("TROVE_VERIFY_RUN_DIR", "/run/trove-verify"))


@dataclass(frozen=True)
class Link:
    net: ipaddress.IPv4Network
    netns: str
    host_if: str
    guest_if: str


@contextmanager
def _machine_lock() -> Iterator[Path]:
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(RUN_DIR / "alloc.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield RUN_DIR / "alloc.json"


def _load(path: Path) -> list[dict]:
    try:
        claims = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError):
        return []      # torn by a crash mid-write: the host's own tables still guard
    if not isinstance(claims, list):
        return []
    return [c for c in claims if isinstance(c, dict)
            and alive(int(c.get("owner") or 0), c.get("owner_start"))]


def _save(path: Path, claims: list[dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(claims, fh)
    os.replace(tmp, path)


def _name_taken(name: str, claims: list[dict]) -> bool:
    return (Path(f"/run/netns/{name}").exists() or Path(f"/sys/class/net/{name}").exists()
            or any(name in (c["netns"], c["host_if"], c["guest_if"]) for c in claims))


def claim_link(instance_id: str, tag: str) -> Link:
    """A /30 and names no other guest on this machine holds or has claimed."""
    with _machine_lock() as path:
        claims = _load(path)
        used = used_networks() + [ipaddress.ip_network(c["net"]) for c in claims]
        net = next((n for n in GUEST_NET.subnets(new_prefix=30)
                    if not any(n.overlaps(u) for u in used)), None)
        if net is None:
            raise EngineError(f"no free /30 left in {GUEST_NET}",
                              fix="delete leftover guests (trove-verify cleanup) or set "
                                  "TROVE_VERIFY_GUEST_NET")
        netns = f"tv-{instance_id}"[:40]
        while _name_taken(netns, claims):
            netns = f"tv-{instance_id}"[:31] + f"-{uuid.uuid4().hex[:8]}"
        while _name_taken(f"tvh{tag}", claims) or _name_taken(f"tvg{tag}", claims):
            tag = uuid.uuid4().hex[:8]
        link = Link(net, netns, f"tvh{tag}", f"tvg{tag}")
        claims.append({"net": str(net), "netns": netns, "host_if": link.host_if,
                       "guest_if": link.guest_if, "owner": os.getpid(),
                       "owner_start": _start_time(os.getpid())})
        _save(path, claims)
    return link


def release_link(link: Link) -> None:
    """Give the claim back (the guest's netns and veth are already gone)."""
    with _machine_lock() as path:
        claims = [c for c in _load(path) if c.get("host_if") != link.host_if]
        _save(path, claims)
