"""Client side of the box: up (or reuse), down, status, logs, and whether
this machine can host a box at all.

`up` starts the daemon (verify/box/daemon.py) detached and waits for its
status file; a box already up answers at once. A lock makes two `up`s
share one box.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from verify.box.paths import BoxPaths, write_status
from verify.errors import ConfigError
from verify.settings import repo_root
from verify.state import alive, state_dir

UP_TIMEOUT = float(os.environ.get("TROVE_VERIFY_TIMEOUT_BOX_UP", 600))


def cannot_host() -> str | None:
    """Why this machine cannot host a box, or None."""
    if os.geteuid() != 0:
        return "the box needs root (namespace guests, RabbitMQ, dockerd)"
    if not shutil.which("dockerd"):
        return "docker.io is not installed (run tools/setup.sh)"
    from verify.box.rabbitmq import unavailable
    reason = unavailable()
    if reason:
        return reason
    from verify.box.trove_install import default_venv
    if not (default_venv() / "bin" / "trove-api").exists():
        return f"the Trove virtualenv {default_venv()} is missing (run tools/setup.sh)"
    return None


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _daemon_pid(paths: BoxPaths) -> int:
    """The pid of a daemon running for this box directory, or 0."""
    want = [b"-m", b"verify.box.daemon", str(paths.root).encode()]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[1:4] == want:
            return int(proc.name)
    return 0


def status(paths: BoxPaths | None = None) -> dict:
    """The status file, with "state": "down" when no live daemon owns it."""
    paths = paths or BoxPaths.default()
    data = paths.read_status()
    if not data:
        return {"state": "down"}
    pid = int(data.get("pid") or 0)
    if data.get("state") in ("up", "starting") and not (pid and _start_time(pid)):
        return {**data, "state": "down", "note": "the box daemon is gone (run cleanup)"}
    return data


def up(*, trove_src: str | None = None, paths: BoxPaths | None = None,
       say: Callable[[str], None] = print, timeout: float = UP_TIMEOUT) -> dict:
    paths = paths or BoxPaths.default()
    paths.make_root()
    with open(paths.lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = status(paths)
        if current["state"] == "up":
            want = trove_src or os.environ.get("TROVE_VERIFY_TROVE_SRC")
            have = (current.get("trove") or {}).get("source")
            if want and str(Path(want).resolve()) != have:
                raise ConfigError(f"a box is up with Trove {have or current['trove']['version']}",
                                  where="box up --trove-src",
                                  fix="run `trove-verify box down` first")
            say(f"box: reusing the box already up (cloud {current['cloud']}, "
                f"{current['clouds_yaml']})")
            return current
        reason = cannot_host()
        if reason:
            raise ConfigError(reason, where="box up")
        from verify.state import cleanup_stale
        cleanup_stale()   # a SIGKILLed box's leftovers
        paths.remove_status()
        argv = [sys.executable, "-m", "verify.box.daemon", str(paths.root)]
        if trove_src:
            argv += ["--trove-src", trove_src]
        paths.logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(repo_root()), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        with open(paths.logs / "daemon.out", "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    env=env, cwd=str(paths.root))
        # the daemon's pid is on record before it has imported anything: a
        # `box down` (or an interrupted `up`) in that window must find it
        write_status(paths, {"state": "starting", "pid": proc.pid})
        say(f"box: starting (logs: {paths.logs})")
        try:
            return _await_up(proc, paths, timeout, say)
        except BaseException:
            # timeout, Ctrl-C or SIGTERM of `up`: the daemon tears down what it started
            _stop_daemon(proc)
            raise


def _await_up(proc: subprocess.Popen, paths: BoxPaths, timeout: float,
              say: Callable[[str], None]) -> dict:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        data = paths.read_status() or {}
        if data.get("state") == "up":
            say(f"box: up in {time.monotonic() - started:.0f} s; cloud {paths.cloud} "
                f"in {data['clouds_yaml']}")
            return data
        if data.get("state") == "failed":
            proc.wait(timeout=120)
            raise ConfigError(data.get("error", "box up: the box did not start"))
        if proc.poll() is not None:
            raise ConfigError(f"the box daemon exited {proc.returncode} "
                              f"(log: {paths.logs / 'daemon.out'})", where="box up")
        time.sleep(0.5)
    raise ConfigError(f"the box was not up within {timeout:.0f} s "
                      f"(logs: {paths.logs})", where="box up",
                      fix="see box.log there; TROVE_VERIFY_TIMEOUT_BOX_UP raises the bound")


def _stop_daemon(proc: subprocess.Popen, timeout: float = 180.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()     # its ledger is released by the next cleanup/down
        proc.wait(timeout=30)


def down(*, paths: BoxPaths | None = None, say: Callable[[str], None] = print,
         timeout: float = 180.0) -> list[str]:
    """Stop the daemon (it tears down through its ledger); release whatever
    a dead daemon's ledger still lists."""
    paths = paths or BoxPaths.default()
    paths.make_root()
    removed: list[str] = []
    with open(paths.lock, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = paths.read_status() or {}
        # an `up` killed between starting its daemon and writing the status
        # leaves a daemon no status names: found by its command line then
        pid = int(data.get("pid") or 0) or _daemon_pid(paths)
        start = _start_time(pid) if pid else None
        if pid and start:
            os.kill(pid, 15)
            deadline = time.monotonic() + timeout
            while alive(pid, start) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid, start):
                os.kill(pid, 9)
                say(f"box: daemon {pid} did not stop in {timeout:.0f} s; killed it")
        from verify.state import cleanup_stale
        removed = cleanup_stale(state_dir())
        paths.remove_status()
    say("box: down" + (f" ({len(removed)} leftover(s) released)" if removed else ""))
    return removed


def log_paths(paths: BoxPaths | None = None) -> list[Path]:
    paths = paths or BoxPaths.default()
    if not paths.logs.is_dir():
        return []
    return sorted(p for p in paths.logs.rglob("*") if p.is_file())
