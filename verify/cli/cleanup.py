"""trove-verify cleanup: remove what killed runs left behind."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("cleanup", help="remove processes, mounts and files of dead runs")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.state import cleanup_stale

    removed = cleanup_stale()
    for line in removed:
        print(f"removed {line}")
    print(f"cleanup: {len(removed)} leftover(s) removed")
    return 0
