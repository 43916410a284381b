"""trove-verify inspect TROVE_SRC|trove==VERSION: static evidence from a Trove tree."""

from __future__ import annotations

from pathlib import Path

from verify.cli._common import add_history_options


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="read a Trove tree: guest-agent managers, unit tests, "
                       "elements, strategies, gate jobs (classify then uses it)")
    p.add_argument("trove_src", help="top of a Trove checkout or unpacked sdist, or "
                   "trove==VERSION (its sdist is downloaded into the cache dir)")
    add_history_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import inspect
    from verify.cli._common import load_catalog, results_root
    from verify.inspect import sdist

    version = sdist.parse(args.trove_src)
    if version:
        root, origin = sdist.tree(version), f"trove=={version} sdist"
    else:
        root, origin = Path(args.trove_src), "directory"
    static = inspect.inspect(root, load_catalog(args), origin=origin)
    path = inspect.write(results_root(args), static)
    with_tests = sorted(ds for ds, files in static["unit_tests"].items() if files)
    without = sorted(ds for ds, files in static["unit_tests"].items() if not files)
    print(f"inspected {inspect.tree_name(static)} at {static['source']} ({origin})")
    agents = [f"{ds}{' (experimental/)' if m['placement'] == 'experimental' else ''}"
              for ds, m in sorted(static["managers"].items())]
    print(f"  guest agents: {', '.join(agents) or 'none'}")
    print(f"  unit tests: {', '.join(with_tests) or 'none'}; none for: "
          f"{', '.join(without) or '-'}")
    print(f"  guest images: {static['image_mechanism']}; "
          + "; ".join(f"{ds}: {', '.join(g['os']) or 'no OS'}"
                      for ds, g in static["guest_images"].items()))
    print(f"  strategies defined: {len(static['strategies'])}")
    voting = [j['name'] for j in static["gate_jobs"] if j["voting"]]
    print(f"  gate jobs: {len(static['gate_jobs'])} ({len(voting)} voting)")
    for problem in static["problems"]:
        print(f"  problem: {problem}")
    print(f"static evidence written to {path}")
    return 0
