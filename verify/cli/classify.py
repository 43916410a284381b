"""trove-verify classify: verdicts from every bundle under results/.

Static evidence comes from the newest `trove-verify inspect` output under
results/static/; the promotion rule reads the newest release record.
"""

from __future__ import annotations

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="tier verdicts per datastore and strategy")
    p.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    p.add_argument("--datastore", metavar="DS", help="only this datastore and its strategies")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import report
    from verify.cli._common import verdicts_from_history
    from verify.errors import UsageError

    runs, rejected, verdicts, static_path = verdicts_from_history(args)
    if args.datastore:
        names = {v.subject for v in verdicts if v.kind == "datastore"}
        if args.datastore not in names:
            raise UsageError(f"no datastore {args.datastore!r} in the catalog",
                             fix="one of: " + ", ".join(sorted(names)))
        verdicts = [v for v in verdicts if v.subject.split("/")[0] == args.datastore]
    if args.format == "json":
        print(report.as_json(verdicts, rejected, static_path))
    elif args.format == "markdown":
        print(report.as_markdown(verdicts, rejected, static_path), end="")
    else:
        report.print_table(verdicts, rejected=rejected, static_path=static_path)
    return 0
