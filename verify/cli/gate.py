"""trove-verify gate zuul: Zuul job YAML from the catalog + current verdicts."""

from __future__ import annotations

from pathlib import Path

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("gate", help="gate configuration from the verdicts")
    p.add_argument("system", choices=["zuul"])
    p.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    p.add_argument("--project", default=None,
                   help="trove-verify's project name in Zuul (default: openstack/trove-verify)")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from verify.cli._common import load_catalog, verdicts_from_history
    from verify.gate import zuul

    _, _, verdicts, _ = verdicts_from_history(args)
    catalog = load_catalog(args)
    config = zuul.jobs(catalog, verdicts, project=args.project or zuul.PROJECT)
    text = zuul.render(config)
    # why each job votes depends on local evidence: said here, kept out of the YAML
    by_subject = {v.subject: v for v in verdicts}
    for ds in catalog:
        print(f"{zuul.job_name(ds.name)}: {zuul.why(by_subject.get(ds.name))}",
              file=sys.stderr)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        voting = [j["job"]["name"] for j in config if "job" in j and j["job"].get("voting")]
        print(f"wrote {args.output}: {sum(1 for _ in catalog)} datastore job(s), voting: "
              f"{', '.join(voting) or 'none'}")
    else:
        sys.stdout.write(text)
    return 0
