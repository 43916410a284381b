"""trove-verify inspect TROVE_SRC: static evidence from a Trove source tree."""

from __future__ import annotations

from pathlib import Path

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="read a Trove checkout: managers, unit tests, "
                       "elements, gate jobs (classify then uses it)")
    p.add_argument("trove_src", type=Path, help="top of a Trove checkout or unpacked sdist")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import inspect
    from verify.cli._common import load_catalog, results_root

    static = inspect.inspect(args.trove_src, load_catalog(args))
    path = inspect.write(results_root(args), static)
    with_tests = sorted(ds for ds, files in static["unit_tests"].items() if files)
    without = sorted(ds for ds, files in static["unit_tests"].items() if not files)
    print(f"inspected Trove {static['trove_version'] or '(version unknown)'} "
          f"at {static['source']}")
    print(f"  managers: {', '.join(sorted(static['managers'])) or 'none'}")
    print(f"  registry: {', '.join(sorted(static['registry'])) or 'none'}")
    print(f"  unit tests: {', '.join(with_tests) or 'none'}; none for: "
          f"{', '.join(without) or '-'}")
    print(f"  elements: {', '.join(sorted(static['trove_elements'])) or 'none'}")
    voting = [j['name'] for j in static["gate_jobs"] if j["voting"]]
    print(f"  gate jobs: {len(static['gate_jobs'])} ({len(voting)} voting)")
    for problem in static["problems"]:
        print(f"  problem: {problem}")
    print(f"static evidence written to {path}")
    return 0
