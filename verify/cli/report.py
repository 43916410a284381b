"""trove-verify report --html FILE: one static page for people."""

from __future__ import annotations

from pathlib import Path

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("report", help="write a static HTML report (opens offline)")
    p.add_argument("--html", type=Path, required=True, metavar="FILE")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.cli._common import results_root, verdicts_from_history
    from verify.errors import UsageError
    from verify.report import html

    if not args.html.parent.resolve().is_dir():
        raise UsageError("the directory for the report does not exist",
                         where=str(args.html.parent), fix="create it first")
    runs, rejected, verdicts, static_path = verdicts_from_history(args)
    text = html.render(verdicts, runs, args.html, results_root(args), rejected, static_path)
    html.write(args.html, text)
    print(f"wrote {args.html} ({len(text) // 1024} KiB, {len(runs)} bundle(s))")
    return 0
