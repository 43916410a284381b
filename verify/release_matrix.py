"""The whole-matrix release run: every datastore the catalog lists whose
engine runs here, each with all its versions at the tier it claims, through
the same `trove-verify run DS` a user types (so the default backend choice,
the Trove box where Trove serves the datastore, comes with it).

Runs go in parallel, each in its own process group, up to a bound that fits
this machine's cores and memory, longest first (so the longest run never
starts last and leaves a core idle at the end); each has a timeout; Ctrl-C
or SIGTERM stops them all (each run tears itself down on SIGTERM) before
returning.
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
    backend: str | None = None   # what `run DS` will choose: trove (the box) or local
    backend_reason: str | None = None
    subset: bool = False         # only some versions were asked for (--datastore DS:V)
    estimate_s: float = 0.0      # what it is expected to take: orders the queue
    started_s: float | None = None   # since the matrix started (when it ran)
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
                "scenarios": self.planned, "backend": self.backend,
                "backend_reason": self.backend_reason,
                "started_s": None if self.started_s is None else round(self.started_s, 1)}


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


def matrix(catalog: Catalog, only: list[str] | None = None,
           choose: Callable[[str], tuple[str, str]] | None = None) -> list[MatrixRun]:
    """Every datastore x version the catalog lists (or those `only` names:
    DS, or DS:VERSION for one version); those with no engine here are marked
    cannot-run with the reason (never silently dropped). `choose(ds)` says
    which backend `run DS` will take and why."""
    from verify.errors import UsageError

    by_name = {ds.name: ds for ds in catalog}
    wanted: dict[str, list[str] | None] = {}
    for item in only or []:
        name, _, version = item.partition(":")
        if name not in by_name:
            raise UsageError(f"unknown datastore {name!r}", where="--datastore",
                             fix=f"one of: {', '.join(by_name)}")
        known = [v.name for v in by_name[name].versions]
        if version and version not in known:
            raise UsageError(f"datastore {name} has no version {version!r}",
                             where="--datastore", fix=f"one of: {', '.join(known)}")
        if not version:
            wanted[name] = None
        elif name not in wanted or wanted[name] is not None:
            wanted.setdefault(name, [])
            if version not in wanted[name]:
                wanted[name].append(version)
    out = []
    for ds in catalog:
        if only and ds.name not in wanted:
            continue
        versions = [v.name for v in ds.versions]
        picked = wanted.get(ds.name)
        run = MatrixRun(ds.name, [v for v in versions if picked is None or v in picked],
                        ds.claimed_tier, subset=picked is not None)
        if not ds.engine_module:
            run.status, run.reason = "cannot-run", "no engine for it on this machine"
        elif choose is not None:
            run.backend, run.backend_reason = choose(ds.name)
        run.estimate_s = _estimate(ds, run)
        out.append(run)
    return out


# first guesses where no earlier matrix timed a datastore: seconds per
# version and claimed capability, and how much slower the box is than local
_PER_CAPABILITY_S = 5.0
_BOX_FACTOR = 3.0


def _estimate(ds, run: MatrixRun) -> float:
    factor = _BOX_FACTOR if run.backend == "trove" else 1.0
    return len(run.versions) * len(ds.capabilities) * _PER_CAPABILITY_S * factor


def order(runs: list[MatrixRun], measured: dict[str, float] | None = None) -> list[MatrixRun]:
    """Longest first (LPT): the estimate is the last measured wall time of
    that datastore's matrix run (scaled to the versions asked for), else a
    guess from versions x capabilities (x3 through the box)."""
    for run in runs:
        per_version = (measured or {}).get(run.datastore)
        if per_version:
            run.estimate_s = per_version * len(run.versions)
    return sorted(runs, key=lambda r: -r.estimate_s)


def measured_walls(record: dict | None) -> dict[str, float]:
    """Per-datastore wall time per version of a release record's matrix run
    (runs that finished only: a timeout or a stop says nothing of the length)."""
    out = {}
    for r in ((record or {}).get("matrix") or {}).get("runs", []):
        if r.get("status") in ("pass", "fail", "unknown") and r.get("wall_s") \
                and r.get("versions"):
            out[r["datastore"]] = float(r["wall_s"]) / len(r["versions"])
    return out


def execute(runs: list[MatrixRun], *, results: Path, logs: Path, jobs: int,
            run_args: list[str], say: Callable[[str], None] = print,
            on_change: Callable[[MatrixRun], None] | None = None,
            on_tick: Callable[[float], None] | None = None,
            tick_s: float = 60.0,
            command: Callable[[MatrixRun], list[str]] | None = None) -> float:
    """Run the runnable entries, `jobs` at a time, in the order given (see
    order()); `on_tick(elapsed)` is called every `tick_s` seconds while they
    run. `command(run)` is the argv (default: `trove-verify run DS ...
    run_args`). Returns the wall time."""
    logs.mkdir(parents=True, exist_ok=True)
    todo = [r for r in runs if r.status == "pending"]
    lock = threading.Lock()
    stop = threading.Event()
    started = time.monotonic()

    def one(run: MatrixRun) -> None:
        argv = command(run) if command else run_command(run, run_args)
        env = dict(os.environ, TROVE_VERIFY_RESULTS=str(results))
        log = logs / f"{run.datastore}.log"
        run.log = str(log)
        t0 = time.monotonic()
        run.started_s = t0 - started
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
                    fh.flush()          # the log is there to be tailed while it runs
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
    next_tick = started + tick_s
    try:
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(timeout=0.5)
            if on_tick and time.monotonic() >= next_tick:
                next_tick += tick_s
                with lock:
                    on_tick(time.monotonic() - started)
    except BaseException:
        stop.set()
        for run in runs:
            if run.status == "running":
                _terminate(run, "stopped")
        for t in threads:   # each run's own teardown is bounded; so is this wait
            t.join(timeout=120)
        raise
    return time.monotonic() - started


def run_command(run: MatrixRun, run_args: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "verify", "run", run.datastore, *run_args]
    if run.subset:
        argv += [a for v in run.versions for a in ("--version", v)]
    return argv


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
