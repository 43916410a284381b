"""Release records: results/releases/CYCLE.json (+ .md) and the diff
against the previous cycle (promotions, demotions, new, retired).

A record lists, per datastore and strategy, the tier, whether it is
classified or only eligible, and the bundles that are its evidence, so a
reader of the docs can follow a tier back to the runs behind it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from verify.classify import Verdict
from verify.errors import DataError
from verify.report import standing

RELEASES = "releases"
RANK = {"unknown": -2, "none": -1, "experimental": 0, "technical-preview": 1, "stable": 2}
EVIDENCE_LINKS = 3      # newest counted bundles named per subject


def release_dir(results_root: Path) -> Path:
    return Path(results_root) / RELEASES


def previous_record(results_root: Path, before: str | None = None) -> dict | None:
    """The newest release record (older than cycle `before`, when given)."""
    names = sorted(p.stem for p in release_dir(results_root).glob("*.json"))
    names = [n for n in names if before is None or n < before]
    if not names:
        return None
    path = release_dir(results_root) / f"{names[-1]}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"unreadable release record ({exc})", where=str(path),
                        fix="restore it from git or remove it") from None


def _evidence(v: Verdict, runs: list[dict]) -> list[str]:
    ds = v.subject.split("/")[0]
    strategy = v.subject.split("/")[1] if "/" in v.subject else None
    out = []
    for run in sorted((r for r in runs if r["datastore"] == ds), key=lambda r: r["started"],
                      reverse=True):
        if strategy and not any(s.get("strategy") == strategy for s in run["scenarios"]):
            continue
        out.append(run.get("_bundle", run["run_id"]))
        if len(out) == EVIDENCE_LINKS:
            break
    return out


def build(cycle: str, verdicts: list[Verdict], runs: list[dict],
          previous: dict | None) -> dict:
    entries = {}
    for v in verdicts:
        entries[v.subject] = {
            "kind": v.kind, "tier": v.tier, "standing": v.standing,
            "standing_words": standing(v), "trove_tree": v.trove_tree,
            "eligible_tier": v.eligible_tier, "claimed_tier": v.claimed_tier,
            "runs_counted": v.runs_counted,
            "gate": {k: v.gate[k] for k in ("judged_on", "runs", "passes",
                                            "wilson_lower_bound")} if v.gate else None,
            "next_tier_needs": [f"{u.id}: {u.text} Unmet: {u.why}" for u in v.unmet
                                if v.unmet and u.tier == v.unmet[0].tier],
            "demotion": v.demotion, "notes": v.notes,
            "evidence": _evidence(v, runs)}
    record = {"cycle": cycle,
              "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "previous": previous["cycle"] if previous else None,
              "verdicts": entries}
    record["diff"] = diff(previous, record)
    return record


def diff(previous: dict | None, current: dict) -> dict:
    old = (previous or {}).get("verdicts", {})
    new = current["verdicts"]
    out: dict[str, list] = {"promotions": [], "demotions": [], "new": [], "retired": []}
    for subject, entry in new.items():
        if subject not in old:
            out["new"].append({"subject": subject, "tier": entry["tier"]})
            continue
        before, after = old[subject]["tier"], entry["tier"]
        if RANK[after] > RANK[before]:
            out["promotions"].append({"subject": subject, "from": before, "to": after,
                                      "evidence": entry["evidence"]})
        elif RANK[after] < RANK[before]:
            why = (entry["demotion"] or {}).get("why") or "; ".join(entry["next_tier_needs"])
            evidence = (entry["demotion"] or {}).get("evidence") or entry["evidence"]
            out["demotions"].append({"subject": subject, "from": before, "to": after,
                                     "why": why, "evidence": evidence})
    out["retired"] = [{"subject": s, "tier": old[s]["tier"]} for s in old if s not in new]
    return out


def markdown(record: dict, link_base: str = "../") -> str:
    lines = [f"# Datastore tiers, {record['cycle']}", "",
             "| datastore | strategy | tier | standing | evidence |", "|---|---|---|---|---|"]
    for subject, e in record["verdicts"].items():
        ds, _, strategy = subject.partition("/")
        standing = e.get("standing_words") or (
            f"eligible for {e['eligible_tier']}" if e["standing"] == "eligible"
            else "classified")
        links = ", ".join(f"[{Path(b).name}]({link_base}{b}/run.json)" for b in e["evidence"])
        lines.append(f"| {ds} | {strategy or '—'} | {e['tier']} | {standing} "
                     f"| {links or '—'} |")
    d = record["diff"]
    lines += ["", f"## Changes since {record['previous'] or 'the first record'}", ""]
    for p in d["promotions"]:
        lines.append(f"- promoted: {p['subject']} {p['from']} → {p['to']}")
    for p in d["demotions"]:
        lines.append(f"- demoted: {p['subject']} {p['from']} → {p['to']}: {p['why']} "
                     f"(evidence: {', '.join(p['evidence'][:5])})")
    for p in d["new"]:
        lines.append(f"- new: {p['subject']} ({p['tier']})")
    for p in d["retired"]:
        lines.append(f"- retired: {p['subject']} (was {p['tier']})")
    if not any(d.values()):
        lines.append("- no changes")
    noted = [(s, e) for s, e in record["verdicts"].items()
             if e.get("notes") or e.get("next_tier_needs")]
    if noted:
        lines += ["", "## Next tier needs, and notes", ""]
        for subject, e in noted:
            for line in e.get("next_tier_needs", []) + e.get("notes", []):
                lines.append(f"- {subject}: {line}")
    return "\n".join(lines) + "\n"


def write(results_root: Path, record: dict) -> tuple[Path, Path]:
    target = release_dir(results_root)
    target.mkdir(parents=True, exist_ok=True)
    js, md = target / f"{record['cycle']}.json", target / f"{record['cycle']}.md"
    for path, text in ((js, json.dumps(record, indent=2, sort_keys=True) + "\n"),
                       (md, markdown(record))):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return js, md
