"""trove-verify cleanup: remove what killed runs left behind, and the box."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("cleanup", help="remove processes, mounts and files of dead runs, "
                                       "and take down the box (trove-verify box) if one is up")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.box import manage
    from verify.state import cleanup_stale

    removed = []
    if manage.status()["state"] in ("up", "starting", "failed"):
        # the box's daemon is alive by design; cleanup leaves nothing, so it goes too
        removed += manage.down(say=lambda line: print(line, flush=True))
    removed += cleanup_stale()
    for line in removed:
        print(f"removed {line}")
    print(f"cleanup: {len(removed)} leftover(s) removed")
    return 0
