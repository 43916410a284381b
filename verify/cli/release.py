"""trove-verify release CYCLE: the release record, its Markdown table and the
diff against the previous cycle.

Without --run it collects the matrix from the history under results/ (the
suites run before, or the gate's bundles imported). With --run it first runs
the whole matrix here, in parallel up to what the machine holds, then writes
the record, the diff and the docs table (Markdown + HTML). --via zuul writes
the Zuul job set that fans the matrix out across nodes instead; `release
CYCLE` then collects the bundles imported from the job logs.
"""

from __future__ import annotations

import re

from verify.cli._common import add_history_options
from verify.errors import UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("release", help="write results/releases/CYCLE.json + .md and the "
                       "diff against the previous cycle (--run: run the matrix first)")
    p.add_argument("cycle", help="release cycle name, e.g. 2026.1")
    p.add_argument("--run", action="store_true",
                   help="run every datastore x version the catalog lists that can run "
                        "here, each at the tier it claims, first")
    p.add_argument("--via", choices=["local", "zuul"], default="local",
                   help="--run here (local) or write the Zuul jobs that fan it out (zuul)")
    p.add_argument("--datastore", action="append", dest="datastores", metavar="DS[:VERSION]",
                   help="--run only this datastore, or only this version of it "
                        "(repeatable; default: the whole catalog)")
    p.add_argument("--jobs", type=int,
                   help="--run: runs at once (default: what the cores and memory hold)")
    from verify import guests  # the registry names the choices

    p.add_argument("--guest", choices=guests.KINDS,
                   help="--run: passed to each run (default: run's own choice)")
    p.add_argument("--output", "-o", help="--via zuul: the YAML file "
                   "(default: results/releases/CYCLE.zuul.yaml)")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.cli._common import results_root

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", args.cycle):
        raise UsageError(f"{args.cycle!r} is not a cycle name", where="CYCLE",
                         fix="letters, digits, '.', '_' or '-', e.g. 2026.1")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: must be at least 1", where="--jobs")
    if not args.run and (args.datastores or args.jobs or args.guest or args.via != "local"):
        raise UsageError("--datastore, --jobs, --guest and --via go with --run",
                         where="release", fix="add --run")
    root = results_root(args)
    if args.run and args.via == "zuul":
        return _write_zuul(args, root)
    matrix = _run_matrix(args, root) if args.run else None
    return _write_record(args, root, matrix)


def _run_matrix(args, root) -> dict:
    import os
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from verify import release_matrix
    from verify.box import client as box_client
    from verify.cli._common import load_catalog
    from verify.report.release import previous_record
    from verify.runner import Interrupted, install_signal_handlers

    install_signal_handlers()
    interrupted: Interrupted | None = None
    # --guest names where the local backend runs engines: then nothing goes
    # through the box; otherwise each entry gets the choice `run DS` makes
    choose = (lambda _ds: ("local", f"--guest {args.guest}")) if args.guest \
        else box_client.default_backend
    runs = release_matrix.matrix(load_catalog(args), args.datastores, choose)
    # the newest matrix that timed them (this cycle's own, re-run) orders the queue
    queue = release_matrix.order(runs, release_matrix.measured_walls(previous_record(root)))
    say = lambda line: print(line, flush=True)   # noqa: E731
    box_s, box_started = _box_up([r for r in runs if r.status == "pending"], say)
    runnable = [r for r in queue if r.status == "pending"]
    cores = os.cpu_count() or 1
    memory = release_matrix.memory_available_mb()     # after the box took its share
    jobs = args.jobs or release_matrix.parallel_bound(cores, memory)
    say(f"release {args.cycle} --run: {len(runnable)} of {len(runs)} datastore(s) run here, "
        f"{jobs} at a time ({cores} core(s), {memory} MB available), longest first")
    for r in runs:
        if r.status == "cannot-run":
            say(f"  {r.datastore} {', '.join(r.versions)}: not run — {r.reason}")
        else:
            say(f"  {r.datastore} {', '.join(r.versions)} at {r.tier}: {r.backend}"
                f"{' (the box)' if r.backend == 'trove' else ''} — {r.backend_reason}")
    run_args = ["--guest", args.guest] if args.guest else []
    logs = root / "release-runs" / args.cycle / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    loads = [os.getloadavg()[0]]
    console = Console(stderr=True)
    live = console.is_terminal

    def tick(elapsed: float) -> None:
        loads.append(os.getloadavg()[0])
        if not live and len(loads) % 4 == 1:        # a line a minute in logs and CI
            say(_progress_line(runs, elapsed, loads[-1]))

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), console=console,
                      disable=not live) as progress:
            tasks = {r.datastore: progress.add_task(r.datastore, total=None, status="queued")
                     for r in runnable}
            seen: set[str] = set()

            def on_change(r) -> None:
                progress.update(tasks[r.datastore], total=r.planned or None,
                                completed=r.done, status=r.status)
                if r.status == "running" and r.datastore not in seen and not live:
                    seen.add(r.datastore)
                    say(f"{r.datastore}: started ({r.backend})")

            t0 = time.monotonic()
            try:
                wall = release_matrix.execute(
                    queue, results=root, logs=logs, jobs=jobs, run_args=run_args,
                    say=progress.console.print if live else say, on_change=on_change,
                    on_tick=tick, tick_s=15.0)
            except Interrupted as exc:
                # the runs are stopped and torn down; what finished is kept
                wall, interrupted = time.monotonic() - t0, exc
                for r in runs:
                    if r.status == "pending":
                        r.status, r.reason = "not-started", "the matrix was stopped first"
    finally:
        if box_started:
            from verify.box import manage
            manage.down(say=say)
    loads.append(os.getloadavg()[0])
    total = sum(r.wall_s for r in runs)
    summary = {"wall_s": round(wall, 1), "sum_s": round(total, 1),
               "speedup": round(total / wall, 2) if wall else 0.0, "parallel": jobs,
               "cores": cores, "memory_available_mb": memory,
               "box_up_s": None if box_s is None else round(box_s, 1),
               "load": {"start": round(loads[0], 2), "end": round(loads[-1], 2),
                        "mean": round(sum(loads) / len(loads), 2),
                        "max": round(max(loads), 2)},
               "logs": str(logs), "runs": [r.summary() for r in runs],
               "interrupted": interrupted.signal_name if interrupted else None,
               "exit_code": interrupted.exit_code if interrupted else None}
    if interrupted:
        say(f"matrix stopped by {interrupted.signal_name}: the record keeps the runs that "
            "finished; the others are marked stopped or not-started")
    say(f"matrix: wall {wall:.0f} s, sum of runs {total:.0f} s, speed-up "
        f"{summary['speedup']:.2f}× ({jobs} at a time on {cores} core(s)"
        + (f"; the box came up in {box_s:.0f} s before" if box_s is not None else "")
        + f"); load average {loads[0]:.1f} at the start, mean {summary['load']['mean']:.1f}, "
        f"max {summary['load']['max']:.1f}; logs in {logs}")
    return summary


def _box_up(runnable, say) -> tuple[float | None, bool]:
    """Bring the box up once, before the runs that go through it (so their
    times are theirs, not the box's start); (seconds, whether we started it:
    then we take it down after)."""
    import time

    through_box = [r for r in runnable if r.backend == "trove"]
    if not through_box:
        return None, False
    from verify.box import manage
    from verify.errors import ConfigError

    was_up = manage.status()["state"] == "up"
    t0 = time.monotonic()
    try:
        manage.up(say=say)
    except ConfigError as exc:       # those runs cannot run; the local ones still do
        for r in through_box:
            r.status, r.reason = "cannot-run", f"the box did not come up: {exc}"
        return None, False
    return time.monotonic() - t0, not was_up


def _progress_line(runs, elapsed: float, load: float) -> str:
    done = [r for r in runs if r.status not in ("pending", "running", "cannot-run")]
    running = [f"{r.datastore} {r.done}/{r.planned or '?'}" for r in runs
               if r.status == "running"]
    queued = sum(r.status == "pending" for r in runs)
    return (f"progress {elapsed / 60:.0f} min: {len(done)} done, running "
            f"{', '.join(running) or 'none'}, {queued} queued (load {load:.1f})")


def _write_record(args, root, matrix: dict | None) -> int:
    from verify.cli._common import verdicts_from_history
    from verify.report import release

    runs, _, verdicts, _ = verdicts_from_history(args, cycle=args.cycle)
    previous = release.previous_record(root, before=args.cycle)
    record = release.build(args.cycle, verdicts, runs, previous)
    if matrix is not None:
        record["matrix"] = matrix
    paths = release.write(root, record, with_html=matrix is not None)
    d = record["diff"]
    print(f"release {args.cycle}: {len(record['verdicts'])} subjects; compared with "
          f"{record['previous'] or 'nothing (first record)'}")
    for p in d["promotions"]:
        print(f"  promoted {p['subject']}: {p['from']} -> {p['to']}")
    for p in d["demotions"]:
        print(f"  demoted {p['subject']}: {p['from']} -> {p['to']}: {p['why']} "
              f"(evidence: {', '.join(p['evidence'][:5])})")
    print(f"  new: {len(d['new'])}, retired: "
          f"{', '.join(p['subject'] for p in d['retired']) or 'none'}")
    print(f"wrote {' and '.join(str(p) for p in paths)}")
    if matrix is not None and matrix.get("exit_code") is not None:
        return matrix["exit_code"]          # stopped: as `run` exits when stopped
    if matrix is not None and any(r["status"] not in ("pass", "cannot-run")
                                  for r in matrix["runs"]):
        return 1
    return 0


def _write_zuul(args, root) -> int:
    from pathlib import Path

    from verify.cli._common import load_catalog
    from verify.gate import zuul

    catalog = load_catalog(args)
    only = args.datastores
    config = zuul.release_jobs(catalog, args.cycle, only)
    out = Path(args.output) if args.output else \
        root / "releases" / f"{args.cycle}.zuul.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(zuul.render(config), encoding="utf-8")
    [template] = [i["project-template"] for i in config if "project-template" in i]
    names = template["periodic"]["jobs"]
    print(f"wrote {out}: {len(names)} job(s) in project-template {template['name']} "
          "(pipeline periodic). When they have run: `trove-verify import` each job's "
          f"trove-verify-results/, then `trove-verify release {args.cycle}`.")
    return 0
