"""Guest links are allocated machine-wide: runs with different work dirs,
started at the same instant, never hold the same /30, veth or netns name.

Each round starts three processes, each with its own TROVE_VERIFY_WORKDIR,
that set up a namespace guest's network (the real code path: netns, veth
pair, addresses) at the same wall-clock instant, report what they got and
hold it until all three have reported. A private /24 keeps the test away
from the guests other runs on this machine are using."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

TEST_NET = "10.214.7.0/24"
ROUNDS = 5
RUNS = 3

CHILD = r"""
import json, sys, time, uuid
from pathlib import Path
from verify.guests.namespace import NamespaceGuest
from verify.state import Ledger
from verify.settings import state_dir
start_at, hold = float(sys.argv[1]), Path(sys.argv[2])
g = NamespaceGuest.__new__(NamespaceGuest)
g.instance_id, g.tag = f"alloc-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8]
g.ledger = Ledger(g.instance_id, state_dir())
g._entries, g._procs, g.init = [], {}, None
while time.time() < start_at:
    time.sleep(0.0005)
try:
    g._make_network()
    print(json.dumps({"net": g.host_address, "netns": g.netns, "veth": g.host_if}), flush=True)
    deadline = time.monotonic() + 60
    while not hold.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
finally:
    g.destroy()
    g.ledger.teardown()
"""


def _need_namespaces() -> None:
    from verify.guests.nshost import unavailable
    reason = unavailable()
    if reason:
        pytest.skip(reason)


def _round(base: Path, n: int) -> list[dict]:
    hold = base / f"hold-{n}"
    start_at = time.time() + 1.5          # after every interpreter has started
    procs = []
    for i in range(RUNS):
        env = dict(os.environ, TROVE_VERIFY_WORKDIR=str(base / f"work-{n}-{i}"),
                   TROVE_VERIFY_GUEST_NET=TEST_NET, PYTHONPATH=str(REPO))
        procs.append(subprocess.Popen([sys.executable, "-c", CHILD, str(start_at), str(hold)],
                                      cwd=REPO, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    got = []
    try:
        for p in procs:
            line = p.stdout.readline()
            got.append(json.loads(line) if line.strip() else {"error": "no line"})
    finally:
        hold.touch()
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err[-2000:]
    return got


def test_three_runs_with_three_work_dirs_get_disjoint_links(tmp_path):
    _need_namespaces()
    collisions, links = 0, 0
    try:
        for n in range(ROUNDS):
            got = _round(tmp_path, n)
            assert all("net" in g for g in got), got
            nets = [ipaddress.ip_interface(f"{g['net']}/30").network for g in got]
            links += len(nets)
            clash = [(a, b) for i, a in enumerate(nets) for b in nets[i + 1:] if a.overlaps(b)]
            clash += [(g["netns"], g["netns"]) for i, g in enumerate(got)
                      if g["netns"] in [h["netns"] for h in got[i + 1:]]]
            clash += [(g["veth"], g["veth"]) for i, g in enumerate(got)
                      if g["veth"] in [h["veth"] for h in got[i + 1:]]]
            if clash:
                collisions += 1
                print(f"round {n}: {clash}")
    finally:
        # the guard route of the private test range (the guests are gone)
        subprocess.run(["ip", "route", "del", "unreachable", TEST_NET], capture_output=True)
    print(f"\n{collisions} of {ROUNDS} rounds of {RUNS} concurrent runs shared a link "
          f"({links} links)")
    assert collisions == 0


def test_a_dead_runs_claims_are_reclaimed_a_live_ones_kept(tmp_path, monkeypatch):
    from verify.guests import alloc
    from verify.state import _start_time
    monkeypatch.setattr(alloc, "RUN_DIR", tmp_path)
    monkeypatch.setattr(alloc, "GUEST_NET", ipaddress.ip_network(TEST_NET))
    dead = subprocess.Popen(["true"])
    dead.wait()
    claims = [{"net": "10.214.7.0/30", "netns": "tv-dead", "host_if": "tvhdead0000",
               "guest_if": "tvgdead0000", "owner": dead.pid, "owner_start": "1"},
              {"net": "10.214.7.4/30", "netns": "tv-live", "host_if": "tvhlive0000",
               "guest_if": "tvglive0000", "owner": os.getpid(),
               "owner_start": _start_time(os.getpid())}]
    (tmp_path / "alloc.json").write_text(json.dumps(claims))
    first = alloc.claim_link("live", "live0000")
    assert str(first.net) == "10.214.7.0/30", "the dead run's /30 is free again"
    assert first.netns != "tv-live" and first.host_if != "tvhlive0000", "live names kept"
    second = alloc.claim_link("x", "abcd1234")
    assert str(second.net) == "10.214.7.8/30"
    alloc.release_link(first)
    alloc.release_link(second)
    left = json.loads((tmp_path / "alloc.json").read_text())
    assert [c["netns"] for c in left] == ["tv-live"]
