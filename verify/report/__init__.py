"""Verdicts rendered for people: terminal table, JSON, Markdown."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
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


def standing(v: Verdict) -> str:
    """"classified" or "eligible for <tier>", the words the reports use."""
    return f"eligible for {v.eligible_tier}" if v.standing == "eligible" else "classified"


def as_json(verdicts: list[Verdict], rejected: list | None = None,
            static_path=None) -> str:
    return json.dumps({"verdicts": [v.as_dict() for v in verdicts],
                       "static_evidence": str(static_path) if static_path else None,
                       "rejected_bundles": [{"path": str(r.path), "reason": r.reason}
                                            for r in rejected or []]}, indent=2)


def as_markdown(verdicts: list[Verdict]) -> str:
    lines = ["| subject | kind | tier | standing | claimed | counted runs | next tier needs |",
             "|---|---|---|---|---|---|---|"]
    for v in verdicts:
        needs = "<br>".join(f"{u.id}: {u.why}" for u in next_unmet(v)) or "—"
        lines.append(f"| {v.subject} | {v.kind} | {v.tier} | {standing(v)} "
                     f"| {v.claimed_tier or '—'} "
                     f"| {v.runs_counted} | {needs.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def print_table(verdicts: list[Verdict], console: Console | None = None,
                rejected: list | None = None, static_path=None) -> None:
    """A compact coloured table, then what each subject needs and why."""
    console = console or Console()
    table = Table(title="trove-verify verdicts")
    for col in ("subject", "tier", "standing", "claims", "runs", "gate"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        gate = "—"
        if v.gate and v.gate["runs"]:
            gate = (f"{v.gate['passes']}/{v.gate['runs']} {v.gate['judged_on']}, "
                    f"LB {v.gate['wilson_lower_bound']:.2f}")
            if v.gate["flaky"]:
                gate += f" [magenta]{len(v.gate['flaky'])} flaky[/]"
        mark = "[red]▼ [/]" if v.demotion else ""
        style = "cyan" if v.standing == "eligible" else ""
        table.add_row(v.subject, f"{mark}[{TIER_STYLE.get(v.tier, '')}]{v.tier}[/]",
                      f"[{style}]{standing(v)}[/]" if style else standing(v),
                      v.claimed_tier or "", f"{v.runs_counted}", gate)
    console.print(table)
    for v in verdicts:
        lines = [f"needs {u.id}: {u.why}" for u in next_unmet(v)] + v.notes
        if lines:
            console.print(f"[bold]{escape(v.subject)}[/]")
            for line in lines:
                console.print(f"  • {escape(line)}", highlight=False)
    console.print(f"static evidence: {static_path or 'none (run trove-verify inspect)'}")
    for r in rejected or []:
        console.print(f"[red]ignored bundle[/] {r.path}: {r.reason}")
