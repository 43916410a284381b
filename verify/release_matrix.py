"""The whole-matrix release run: every datastore the catalog lists whose
engine runs here, each with all its versions at the tier it claims, through
the same `trove-verify run DS` a user types (so the default backend choice,
the Trove box where Trove serves the datastore, comes with it).

Runs go in parallel, each in its own process group, up to a bound that fits
this machine's cores and memory; each has a timeout; Ctrl-C or SIGTERM stops
them all (each run tears itself down on SIGTERM) before returning.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verify.catalog import Catalog

# a run's resident footprint at its peak: two engines per scenario worker
# (primary + replica or cluster nodes), Cassandra's 1 GB heap the largest
RUN_MEMORY_MB = 2048
RUN_TIMEOUT_S = float(os.environ.get("TROVE_VERIFY_TIMEOUT_RELEASE_RUN", 3600))
_DONE = re.compile(r"^run (\S+): (pass|fail|unknown|incomplete)\b.*bundle (\S+)")
_PLANNED = re.compile(r"^run \S+: .*\((\d+) scenarios")
_STEP = re.compile(r"^\[(\d+)/(\d+)\]")


@dataclass
class MatrixRun:
    datastore: str
    versions: list[str]
    tier: str
    status: str = "pending"      # pending, running, pass, fail, unknown, cannot-run, timeout
    reason: str | None = None
    exit_code: int | None = None
    wall_s: float = 0.0
    bundle: str | None = None
    run_id: str | None = None
    planned: int = 0
    done: int = 0
    log: str | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def summary(self) -> dict:
        return {"datastore": self.datastore, "versions": self.versions, "tier": self.tier,
                "status": self.status, "reason": self.reason, "exit_code": self.exit_code,
                "wall_s": round(self.wall_s, 1), "run_id": self.run_id,
                "scenarios": self.planned}


def memory_available_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return RUN_MEMORY_MB


def parallel_bound(cores: int | None = None, memory_mb: int | None = None) -> int:
    """Runs at once: one per core, no more than the memory holds."""
    cores = cores or os.cpu_count() or 1
    memory_mb = memory_available_mb() if memory_mb is None else memory_mb
    return max(1, min(cores, memory_mb // RUN_MEMORY_MB))


def matrix(catalog: Catalog, only: list[str] | None = None) -> list[MatrixRun]:
    """Every datastore x version the catalog lists; those with no engine here
    are marked cannot-run with the reason (never silently dropped)."""
    from verify.errors import UsageError

    names = [ds.name for ds in catalog]
    for name in only or []:
        if name not in names:
            raise UsageError(f"unknown datastore {name!r}", where="--datastore",
                             fix=f"one of: {', '.join(names)}")
    out = []
    for ds in catalog:
        if only and ds.name not in only:
            continue
        run = MatrixRun(ds.name, [v.name for v in ds.versions], ds.claimed_tier)
        if not ds.engine_module:
            run.status, run.reason = "cannot-run", "no engine for it on this machine"
        out.append(run)
    return out


def execute(runs: list[MatrixRun], *, results: Path, logs: Path, jobs: int,
            run_args: list[str], say: Callable[[str], None] = print,
            on_change: Callable[[MatrixRun], None] | None = None) -> float:
    """Run the runnable entries, `jobs` at a time; returns the wall time."""
    logs.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if r.status == "pending"]
    lock = threading.Lock()
    stop = threading.Event()
    started = time.monotonic()

    def one(run: MatrixRun) -> None:
        argv = [sys.executable, "-m", "verify", "run", run.datastore, *run_args]
        env = dict(os.environ, TROVE_VERIFY_RESULTS=str(results))
        log = logs / f"{run.datastore}.log"
        run.log = str(log)
        t0 = time.monotonic()
        with open(log, "w", encoding="utf-8") as fh:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env, start_new_session=True)
            run._proc, run.status = proc, "running"
            on_change and on_change(run)
            timer = threading.Timer(RUN_TIMEOUT_S, _terminate, (run, "timeout"))
            timer.start()
            last = ""
            try:
                for line in proc.stdout:
                    fh.write(line)
                    last = line.strip() or last
                    if m := _PLANNED.match(line):
                        run.planned = int(m.group(1))
                    elif m := _STEP.match(line):
                        run.done = int(m.group(1))
                    elif m := _DONE.match(line):
                        run.run_id, run.bundle = m.group(1), m.group(3)
                    on_change and on_change(run)
                proc.wait()
            finally:
                timer.cancel()
        run.wall_s = time.monotonic() - t0
        run.exit_code = proc.returncode
        if run.status == "timeout":
            run.reason = (f"no result within {RUN_TIMEOUT_S:.0f} s "
                          "(TROVE_VERIFY_TIMEOUT_RELEASE_RUN)")
        elif run.status == "stopped":
            run.reason = "stopped by a signal"
        elif run.run_id is None:
            run.status, run.reason = "cannot-run", last[:300] or f"exit {proc.returncode}"
        else:
            run.status = {0: "pass", 1: "fail"}.get(proc.returncode, "unknown")
        with lock:
            say(f"{run.datastore} {', '.join(run.versions)}: {run.status} "
                f"({run.wall_s:.0f} s)" + (f" — {run.reason}" if run.reason else "")
                + (f" — bundle {run.bundle}" if run.bundle else ""))
        on_change and on_change(run)

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if not todo:
                    return
                run = todo.pop(0)
            one(run)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.5)
    except BaseException:
        stop.set()
        for run in runs:
            if run.status == "running":
                _terminate(run, "stopped")
        for t in threads:   # each run's own teardown is bounded; so is this wait
            t.join(timeout=120)
        raise
    return time.monotonic() - started


def _terminate(run: MatrixRun, status: str) -> None:
    """SIGTERM to the run's process group: the run records itself incomplete
    and tears down; SIGKILL if it has not gone within a minute."""
    proc = run._proc
    if proc is None or proc.poll() is not None:
        return
    run.status = status
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
