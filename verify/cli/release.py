"""trove-verify release CYCLE: the release record, its Markdown table and the
diff against the previous cycle.

It collects the matrix from the history under results/ (run the suites,
or import the gate's bundles, first).
"""

from __future__ import annotations

import re

from verify.cli._common import add_history_options
from verify.errors import UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("release", help="write results/releases/CYCLE.json + .md and the "
                       "diff against the previous cycle")
    p.add_argument("cycle", help="release cycle name, e.g. 2026.1")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.cli._common import results_root, verdicts_from_history
    from verify.report import release

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", args.cycle):
        raise UsageError(f"{args.cycle!r} is not a cycle name", where="CYCLE",
                         fix="letters, digits, '.', '_' or '-', e.g. 2026.1")
    root = results_root(args)
    runs, _, verdicts, _ = verdicts_from_history(args, cycle=args.cycle)
    previous = release.previous_record(root, before=args.cycle)
    record = release.build(args.cycle, verdicts, runs, previous)
    js, md = release.write(root, record)
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
    print(f"wrote {js} and {md}")
    return 0
