"""trove-verify collect-logs DEST: Trove service and guest logs from the
controller (playbooks/collect_logs.yml), redacted, into DEST."""

from __future__ import annotations

from pathlib import Path

from verify.errors import EXIT_PASS


def add_parser(sub) -> None:
    p = sub.add_parser("collect-logs", help="collect Trove service/guest logs into a directory")
    p.add_argument("dest", type=Path, help="e.g. results/<run-id>/logs/trove")
    p.add_argument("--glob", action="append", dest="globs",
                   help="log file glob on the hosts (repeatable; default: Trove's)")
    p.add_argument("--inventory", help="ansible inventory (default: localhost)")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import playbooks, redact

    dest = args.dest.resolve()
    extravars = {"dest": str(dest)}
    if args.globs:
        extravars["log_globs"] = args.globs
    playbooks.run("collect_logs", extravars, inventory=args.inventory)
    count = 0
    for path in dest.rglob("*"):
        if path.is_file():
            path.write_bytes(redact.redact_bytes(path.read_bytes()))
            count += 1
    print(f"collected {count} log files into {dest}")
    return EXIT_PASS
