"""Verdicts rendered for people: terminal table, JSON, Markdown."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from verify.classify import Verdict

TIER_STYLE = {"stable": "bold green", "technical-preview": "green", "experimental": "yellow",
              "none": "red", "unknown": "dim"}


def next_unmet(v: Verdict) -> list:
    """Unmet requirements of the tier just above the one reached."""
    if not v.unmet:
        return []
    first = v.unmet[0].tier
    return [u for u in v.unmet if u.tier == first]


def as_json(verdicts: list[Verdict], rejected: list | None = None) -> str:
    return json.dumps({"verdicts": [v.as_dict() for v in verdicts],
                       "rejected_bundles": [{"path": str(r.path), "reason": r.reason}
                                            for r in rejected or []]}, indent=2)


def as_markdown(verdicts: list[Verdict]) -> str:
    lines = ["| subject | kind | tier | claimed | counted runs | next tier needs |",
             "|---|---|---|---|---|---|"]
    for v in verdicts:
        needs = "<br>".join(f"{u.id}: {u.why}" for u in next_unmet(v)) or "—"
        lines.append(f"| {v.subject} | {v.kind} | {v.tier} | {v.claimed_tier or '—'} "
                     f"| {v.runs_counted} | {needs.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def print_table(verdicts: list[Verdict], console: Console | None = None,
                rejected: list | None = None) -> None:
    console = console or Console()
    table = Table(title="trove-verify verdicts", show_lines=False)
    for col in ("subject", "tier", "claimed", "runs", "next tier needs"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        needs = "\n".join(f"{u.id}: {u.why}" for u in next_unmet(v)) or "—"
        notes = ("\n" + "\n".join(v.notes)) if v.notes else ""
        table.add_row(v.subject, f"[{TIER_STYLE.get(v.tier, '')}]{v.tier}[/]",
                      v.claimed_tier or "", f"{v.runs_counted}", needs + notes)
    console.print(table)
    for r in rejected or []:
        console.print(f"[red]ignored bundle[/] {r.path}: {r.reason}")
