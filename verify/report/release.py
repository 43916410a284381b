"""Release records: results/releases/CYCLE.json (+ .md) and the diff
against the previous cycle (promotions, demotions, new, retired).

A record lists, per datastore and strategy, the tier, whether it is
classified or only eligible, and the bundles that are its evidence, so a
reader of the docs can follow a tier back to the runs behind it.
"""

from __future__ import annotations

import datetime as dt
import html as html_mod
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
    if record.get("matrix"):
        m = record["matrix"]
        lines += ["", "## Matrix run", "", _matrix_sentence(m), "",
                  "| datastore | versions | tier run | backend | result | wall (s) |",
                  "|---|---|---|---|---|---|"]
        for r in m["runs"]:
            result = r["status"] + (f": {r['reason']}" if r["reason"] else "")
            lines.append(f"| {r['datastore']} | {', '.join(r['versions'])} | {r['tier']} "
                         f"| {_backend(r)} | {result} | {r['wall_s']:.0f} |")
    return "\n".join(lines) + "\n"


def _matrix_sentence(m: dict) -> str:
    load = m.get("load")
    return (f"{len(m['runs'])} datastore(s), {m['parallel']} at a time on {m['cores']} "
            f"core(s): wall {m['wall_s']:.0f} s, sum of runs {m['sum_s']:.0f} s "
            f"(speed-up {m['speedup']:.2f}×)"
            + (f"; the box came up in {m['box_up_s']:.0f} s before"
               if m.get("box_up_s") is not None else "")
            + (f"; load average {load['start']:.1f} at the start, mean {load['mean']:.1f}"
               if load else "")
            + (f"; stopped by {m['interrupted']}: the entries not run to the end are "
               "marked so" if m.get("interrupted") else "") + ".")


def _backend(r: dict) -> str:
    if r.get("backend") == "trove":
        return "trove (the box)"
    return r.get("backend") or "—"


def _matrix_html(m: dict) -> str:
    e_ = html_mod.escape
    rows = "".join(
        f"<tr><td>{e_(r['datastore'])}</td><td>{e_(', '.join(r['versions']))}</td>"
        f"<td>{e_(r['tier'])}</td><td>{e_(_backend(r))}</td>"
        f"<td>{e_(r['status'] + (': ' + r['reason'] if r['reason'] else ''))}</td>"
        f"<td>{r['wall_s']:.0f}</td></tr>" for r in m["runs"])
    return (f"<h2>Matrix run</h2><p>{e_(_matrix_sentence(m))}</p><table><thead><tr>"
            "<th>datastore</th><th>versions</th><th>tier run</th><th>backend</th>"
            f"<th>result</th><th>wall (s)</th></tr></thead><tbody>{rows}</tbody></table>")


def html(record: dict, link_base: str = "../") -> str:
    """The same table as markdown(), as one offline HTML page for the docs."""
    e_ = html_mod.escape
    rows = []
    for subject, e in record["verdicts"].items():
        ds, _, strategy = subject.partition("/")
        standing = f"eligible for {e['eligible_tier']}" if e["standing"] == "eligible" \
            else "classified"
        links = ", ".join(f'<a href="{e_(link_base + b)}/run.json">{e_(Path(b).name)}</a>'
                          for b in e["evidence"]) or "—"
        rows.append(f"<tr><td>{e_(ds)}</td><td>{e_(strategy or '—')}</td>"
                    f"<td class=\"{e_(e['tier'])}\">{e_(e['tier'])}</td><td>{e_(standing)}</td>"
                    f"<td>{links}</td></tr>")
    changes = [line[2:] for line in markdown(record, link_base).splitlines()
               if line.startswith("- ")]
    matrix = _matrix_html(record["matrix"]) if record.get("matrix") else ""
    title = f"Datastore tiers, {record['cycle']}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e_(title)}</title><style>table{{border-collapse:collapse}}"
            "td,th{border:1px solid #999;padding:2px 6px}</style></head><body>"
            f"<h1>{e_(title)}</h1><table><thead><tr><th>datastore</th><th>strategy</th>"
            "<th>tier</th><th>standing</th><th>evidence</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            f"<h2>Changes since {e_(record['previous'] or 'the first record')}</h2><ul>"
            + "".join(f"<li>{e_(c)}</li>" for c in changes) + "</ul>" + matrix
            + "</body></html>\n")


def write(results_root: Path, record: dict, *, with_html: bool = False) -> tuple[Path, ...]:
    target = release_dir(results_root)
    target.mkdir(parents=True, exist_ok=True)
    js, md = target / f"{record['cycle']}.json", target / f"{record['cycle']}.md"
    files = [(js, json.dumps(record, indent=2, sort_keys=True) + "\n"), (md, markdown(record))]
    if with_html:
        files.append((target / f"{record['cycle']}.html", html(record)))
    for path, text in files:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return tuple(path for path, _ in files)
