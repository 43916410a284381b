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


def after_run(datastore: str) -> None:
    """`run` ends with this: what the run just proved for datastore and what
    its next tier needs, read from every bundle under results/ (a newcomer
    who ran only `tox -e verify-<ds>` sees it without another command)."""
    import argparse

    from verify.errors import VerifyError

    print(flush=True)
    args = argparse.Namespace(results=None, catalog=None, format="table",
                              datastore=datastore)
    try:
        run(args)
    except VerifyError as exc:
        print(f"classify {datastore}: {exc.render()}", flush=True)
    except Exception as exc:  # noqa: BLE001 - the run's own result must stand
        print(f"classify {datastore}: no summary ({type(exc).__name__}: {exc}); "
              "run trove-verify classify to see why", flush=True)
