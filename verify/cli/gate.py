"""trove-verify gate zuul: Zuul job YAML from the catalog + current verdicts."""

from __future__ import annotations

from pathlib import Path

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("gate", help="gate configuration from the verdicts")
    p.add_argument("system", choices=["zuul"])
    p.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from verify.cli._common import load_catalog, verdicts_from_history
    from verify.gate import zuul

    _, _, verdicts, _ = verdicts_from_history(args)
    config = zuul.jobs(load_catalog(args), verdicts)
    text = zuul.render(config)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        voting = [j["job"]["name"] for j in config if "job" in j and j["job"].get("voting")]
        print(f"wrote {args.output}: {len(config) - 2} datastore job(s), voting: "
              f"{', '.join(voting) or 'none'}")
    else:
        sys.stdout.write(text)
    return 0
