"""A box stopped while it is still starting, or while a guest boots, leaves
nothing behind: no process (RabbitMQ's epmd included, whatever started it),
mount, loop device, docker data dir or ledger.

Each test brings up its own box in its own work dir. Needs what the box
needs (root, docker.io, rabbitmq-server, the Trove virtualenv, cached
images); skips naming what is missing otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO, cli
from tests.integration.boxwork import leftovers, new_box_root


@pytest.fixture
def work():
    root, env = new_box_root("tv-boxdown-")
    yield root / "work", env
    cli("box", "down", env=env, timeout=600)    # whatever a failed test left
    shutil.rmtree(root, ignore_errors=True)


def _ledger_has(work: Path, match: Callable[[dict], bool]) -> bool:
    for path in (work / "state").glob("box-*.json"):
        try:
            entries = json.loads(path.read_text()).get("entries", [])
        except (OSError, ValueError):
            continue
        if any(match(e) for e in entries):
            return True
    return False


def _wait(what: str, cond: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"{what} not seen within {timeout:.0f} s"
        time.sleep(0.05)


def _daemon_pid(work: Path) -> int:
    return int(json.loads((work / "box" / "status.json").read_text())["pid"])


def _wait_gone(pid: int, timeout: float = 240) -> None:
    _wait(f"daemon {pid} exit", lambda: not Path(f"/proc/{pid}").exists()
          or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3], timeout)


def _up(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "verify", "box", "up"], cwd=REPO,
                            env=dict(os.environ, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _daemon_of(work: Path) -> int | None:
    for p in Path("/proc").iterdir():
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"verify.box.daemon" in cmd and str(work / "box").encode() in cmd:
            return int(p.name)
    return None


def test_box_down_right_after_up_began_stops_the_daemon(work, monkeypatch):
    """`box up` killed as soon as its daemon exists (still importing, before
    it has written a status of its own), then `box down` at once (in this
    process: no start-up of its own to lose the race): down must find and
    stop the daemon. It used to say "down" and leave it starting a whole box."""
    from verify.box import manage
    from verify.box.paths import BoxPaths
    work_dir, env = work
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    up = _up(env)
    _wait("the box daemon", lambda: _daemon_of(work_dir) is not None, 60)
    pid = _daemon_of(work_dir)
    up.kill()
    up.wait(timeout=30)
    said: list[str] = []
    manage.down(paths=BoxPaths(work_dir / "box"), say=said.append)
    assert said == ["box: down"]
    _wait_gone(pid, timeout=5)
    assert leftovers(work_dir) == []


def test_sigterm_of_a_starting_box_leaves_nothing(work):
    """SIGTERM reaches the daemon while RabbitMQ and Keystone are starting
    in their lanes: the daemon waits for them, then releases everything."""
    work_dir, env = work
    up = _up(env)
    _wait("RabbitMQ's epmd in the ledger", lambda: _ledger_has(
        work_dir, lambda e: e.get("cmd") == "epmd"), 300)
    pid = _daemon_pid(work_dir)
    os.kill(pid, signal.SIGTERM)
    _wait_gone(pid)
    up.wait(timeout=60)
    assert leftovers(work_dir) == []


def test_sigterm_of_the_box_while_a_guest_boots_leaves_nothing(work):
    """SIGTERM while the emulator is booting a guest (its loop device made):
    the guest is stopped and its loop device detached before the daemon exits."""
    work_dir, env = work
    up = _up(env)
    out, _ = up.communicate(timeout=900)
    assert up.returncode == 0, out
    pid = _daemon_pid(work_dir)
    boot = subprocess.Popen([sys.executable, "-c", CREATE, "mariadb", "10.11"], cwd=REPO,
                            env=dict(os.environ, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait("a guest's loop device in the ledger",
              lambda: _ledger_has(work_dir, lambda e: e.get("kind") == "loop"), 300)
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid)
    finally:
        boot.kill()
        boot.wait(timeout=30)
    assert leftovers(work_dir) == []


# create one instance through the box's Trove and return at once (no wait)
CREATE = """
import sys
from verify import catalog
from verify.backends.trove_cloud import open_cloud
from verify.box import client
client.use_clouds_yaml("trove-box")
cloud = open_cloud("trove-box")
flavor = sorted(cloud.trove.flavors.list(), key=lambda f: f.ram)[0]
cloud.trove.instances.create("verify-teardown", flavor.id, datastore=sys.argv[1],
                             datastore_version=sys.argv[2])
print("created", flush=True)
"""
