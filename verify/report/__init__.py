"""Verdicts rendered for people: terminal table, JSON, Markdown.

Every format carries the same things: the tier and its standing, the
Trove tree the static requirements were read from, each unmet requirement
of the next tier with its sentence and the reason, and every note.
"""

from __future__ import annotations

import json
import textwrap

from rich import box
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
    """The words the reports use; they never contradict the tier."""
    if v.tier == "unknown" or v.standing == "no evidence":
        return "no counted evidence"
    if v.standing == "demoted":
        return "demoted from stable"
    if v.standing == "eligible":
        return f"eligible for {v.eligible_tier}"
    return "classified"


def details(v: Verdict, said: set[str] | None = None) -> list[str]:
    """What the next tier needs (sentence and reason), engine evidence, notes.

    said: requirement ids whose sentence was already shown on this page
    (the terminal shows each sentence once, then refers to it)."""
    lines = []
    for u in next_unmet(v):
        if said is not None and u.id in said:
            lines.append(f"needs {u.id} (as above). Unmet: {u.why}")
        else:
            lines.append(f"needs {u.id} ({u.tier}): {u.text} Unmet: {u.why}")
            if said is not None:
                said.add(u.id)
    if v.engine_evidence:
        lines.append("engine evidence (the local backend: shows the engine and the suite "
                     "work, meets no requirement about Trove's API or guest agent): "
                     + "; ".join(v.engine_evidence))
    return lines + list(v.notes)


def trees(verdicts: list[Verdict]) -> str:
    return ", ".join(sorted({v.trove_tree for v in verdicts if v.trove_tree})) or "none"


def as_json(verdicts: list[Verdict], rejected: list | None = None,
            static_path=None) -> str:
    return json.dumps({"trove_tree": trees(verdicts),
                       "verdicts": [{**v.as_dict(), "standing_words": standing(v),
                                     "next_tier_needs": [u.__dict__ for u in next_unmet(v)]}
                                    for v in verdicts],
                       "static_evidence": str(static_path) if static_path else None,
                       "rejected_bundles": [{"path": str(r.path), "reason": r.reason}
                                            for r in rejected or []]}, indent=2)


def _md(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def as_markdown(verdicts: list[Verdict], rejected: list | None = None,
                static_path=None) -> str:
    lines = [f"Static requirements read from: {trees(verdicts)}"
             + (f" ({static_path})" if static_path else ""), "",
             "| subject | kind | tier | standing | claimed | counted runs |",
             "|---|---|---|---|---|---|"]
    for v in verdicts:
        lines.append(f"| {v.subject} | {v.kind} | {v.tier} | {standing(v)} "
                     f"| {v.claimed_tier or '—'} | {v.runs_counted} |")
    for v in verdicts:
        found = details(v)
        if found:
            lines += ["", f"### {v.subject}", ""] + [f"- {_md(line)}" for line in found]
    for r in rejected or []:
        lines += ["", f"- ignored bundle {r.path}: {_md(r.reason)}"]
    return "\n".join(lines) + "\n"


def print_table(verdicts: list[Verdict], console: Console | None = None,
                rejected: list | None = None, static_path=None) -> None:
    """A table that keeps subject names whole at 80 columns, then what each
    subject needs and why."""
    console = console or Console()
    table = Table(title="trove-verify verdicts", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1), title_justify="left")
    table.add_column("subject", no_wrap=True)
    table.add_column("tier", no_wrap=True)
    table.add_column("standing", overflow="fold")
    table.add_column("runs", no_wrap=True, justify="right")
    for v in verdicts:
        mark = "[red]▼[/]" if v.demotion else ""
        style = "cyan" if v.standing == "eligible" else ""
        words = standing(v)
        table.add_row(escape(v.subject), f"{mark}[{TIER_STYLE.get(v.tier, '')}]{v.tier}[/]",
                      f"[{style}]{words}[/]" if style else words, f"{v.runs_counted}")
    console.print(table)
    console.print(f"static requirements read from: {trees(verdicts)}", highlight=False)
    if static_path:
        console.print(f"  ({static_path})", highlight=False, soft_wrap=True)
    said: set[str] = set()
    for v in verdicts:
        lines = details(v, said)
        if v.gate and v.gate["runs"]:
            lines.insert(0, f"gate: {v.gate['passes']}/{v.gate['runs']} "
                            f"{v.gate['judged_on']} runs passed, Wilson lower bound "
                            f"{v.gate['wilson_lower_bound']:.2f}")
        if lines:
            console.print(f"[bold]{escape(v.subject)}[/] ({v.tier}, {standing(v)})",
                          highlight=False)
            width = max(40, console.width)
            for line in lines:
                # wrapped by words with a hanging indent: names are never split
                text = textwrap.fill(line, width=width, initial_indent="  • ",
                                     subsequent_indent="    ", break_long_words=False,
                                     break_on_hyphens=False)
                console.print(escape(text), highlight=False, soft_wrap=True)
    for r in rejected or []:
        console.print(f"[red]ignored bundle[/] {escape(str(r.path))}: {escape(r.reason)}",
                      highlight=False)
