"""trove-verify classify: verdicts from every bundle under results/."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="tier verdicts per datastore and strategy")
    p.add_argument("--format", choices=["table", "json", "markdown"], default="table")
    p.add_argument("--results", type=Path, help="bundle directory (default: results/)")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import catalog, policy, report
    from verify.classify import classify
    from verify.evidence import scan
    from verify.settings import results_dir

    runs, rejected = scan(args.results or results_dir())
    verdicts = classify(runs, catalog.default(), policy.default())
    if args.format == "json":
        print(report.as_json(verdicts, rejected))
    elif args.format == "markdown":
        print(report.as_markdown(verdicts), end="")
    else:
        report.print_table(verdicts, rejected=rejected)
    return 0
