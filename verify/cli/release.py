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
    p.add_argument("--datastore", action="append", dest="datastores",
                   help="--run only this datastore (repeatable; default: the whole catalog)")
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
    from verify.cli._common import load_catalog
    from verify.runner import install_signal_handlers

    install_signal_handlers()
    runs = release_matrix.matrix(load_catalog(args), args.datastores)
    cores = os.cpu_count() or 1
    jobs = args.jobs or release_matrix.parallel_bound(cores)
    runnable = [r for r in runs if r.status == "pending"]
    print(f"release {args.cycle} --run: {len(runnable)} of {len(runs)} datastore(s) run here, "
          f"{jobs} at a time ({cores} core(s), "
          f"{release_matrix.memory_available_mb()} MB available)", flush=True)
    for r in runs:
        if r.status == "cannot-run":
            print(f"  {r.datastore} {', '.join(r.versions)}: not run — {r.reason}")
    run_args = ["--guest", args.guest] if args.guest else []
    logs = root / "release-runs" / args.cycle / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[status]}"), console=console,
                  transient=not console.is_terminal) as progress:
        tasks = {r.datastore: progress.add_task(r.datastore, total=None, status="queued")
                 for r in runnable}

        def on_change(r) -> None:
            progress.update(tasks[r.datastore], total=r.planned or None, completed=r.done,
                            status=r.status)

        wall = release_matrix.execute(runs, results=root, logs=logs, jobs=jobs,
                                      run_args=run_args, say=progress.console.print
                                      if console.is_terminal else
                                      (lambda line: print(line, flush=True)),
                                      on_change=on_change)
    total = sum(r.wall_s for r in runs)
    summary = {"wall_s": round(wall, 1), "sum_s": round(total, 1),
               "speedup": round(total / wall, 2) if wall else 0.0, "parallel": jobs,
               "cores": cores, "logs": str(logs), "runs": [r.summary() for r in runs]}
    print(f"matrix: wall {wall:.0f} s, sum of runs {total:.0f} s, speed-up "
          f"{summary['speedup']:.2f}× ({jobs} at a time); logs in {logs}")
    return summary


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
