"""trove-verify catalog: what each datastore claims."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("catalog", help="print the datastore catalog")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--file", type=Path, help="validate and print another catalog file")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from verify import catalog

    cat = catalog.load(args.file) if args.file else catalog.default()
    if args.format == "json":
        print(json.dumps({ds.name: asdict(ds) for ds in cat}, indent=2))
        return 0
    table = Table(title=f"trove-verify catalog ({cat.source})")
    for col in ("datastore", "claims tier", "versions", "capabilities", "strategies",
                "engine here"):
        table.add_column(col, overflow="fold")
    for ds in cat:
        versions = ", ".join(f"{v.name} ({'/'.join(v.os) or 'no OS here'})" for v in ds.versions)
        strategies = ", ".join(f"{s.name} [{s.capability}]" for s in ds.strategies)
        table.add_row(ds.name, ds.claimed_tier, versions, ", ".join(ds.capabilities),
                      escape(strategies), ds.engine_module or "—")
    Console().print(table)
    return 0
