"""What several verbs share: where results live, the catalog, the history,
the latest inspection and the previous release record."""

from __future__ import annotations

from pathlib import Path


def add_history_options(p) -> None:
    p.add_argument("--results", type=Path, help="bundle directory (default: results/)")
    p.add_argument("--catalog", type=Path, help="another catalog file (default: the built-in)")


def results_root(args) -> Path:
    from verify.settings import results_dir

    return args.results or results_dir()


def load_catalog(args):
    from verify import catalog

    return catalog.load(args.catalog) if getattr(args, "catalog", None) else catalog.default()


def verdicts_from_history(args, cycle: str | None = None):
    """(runs, rejected, verdicts, static file or None) from results/."""
    from verify import inspect, policy
    from verify.classify import classify
    from verify.evidence.index import load_history
    from verify.report.release import previous_record

    root = results_root(args)
    runs, rejected = load_history(root)
    static, static_path = inspect.latest(root)
    prev = previous_record(root, before=cycle)
    previous = {s: e["tier"] for s, e in (prev or {}).get("verdicts", {}).items()}
    verdicts = classify(runs, load_catalog(args), policy.default(), static, previous)
    return runs, rejected, verdicts, static_path
