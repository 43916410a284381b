"""One static HTML page people read: no server, no network, no scripts.

Sections: the tier matrix; per-datastore pass-rate history (inline SVG);
per-scenario durations; the last runs side by side with flaky scenarios
marked; every run links to its bundle (relative links, so the page and
results/ can be copied together).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import statistics
from pathlib import Path

from verify.classify import Verdict
from verify.classify.stability import flaky_scenarios
from verify.report import details, standing, trees

LAST_RUNS = 8          # columns in the side-by-side comparison
HISTORY_POINTS = 40    # points per pass-rate plot
TIER_COLOUR = {"stable": "#1a7f37", "technical-preview": "#4c9a2a", "experimental": "#bf8700",
               "none": "#cf222e", "unknown": "#6e7781"}
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1f2328;max-width:1400px}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;padding:3px 7px;
text-align:left;vertical-align:top}th{background:#f6f8fa}
.tier{color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap}
.pass{background:#dafbe1}.fail{background:#ffebe9}.skipped{background:#eaeef2}
tr.flaky td{background:#fff8c5}tr.flaky td.fail{background:#ffb3a8}
.badge{background:#9a6700;color:#fff;border-radius:3px;padding:0 4px;font-size:.8em}
.demoted{color:#cf222e;font-weight:bold}.small{font-size:.85em;color:#57606a}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #d0d7de;padding:4px}
.bar{display:inline-block;height:10px;background:#54aeff;vertical-align:middle}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _tier(t: str) -> str:
    return f'<span class="tier" style="background:{TIER_COLOUR.get(t, "#6e7781")}">{_e(t)}</span>'


class _Links:
    """Relative links from the page to bundles under results/."""

    def __init__(self, page: Path, results_root: Path):
        self.base = page.resolve().parent
        self.root = results_root.resolve()

    def run(self, run: dict, name: str = "run.json") -> str | None:
        """Link to a file of the run's bundle, or None when it is not there."""
        target = self.root / run.get("_bundle", run["run_id"]) / name
        if not target.is_file():
            return None
        return Path(os.path.relpath(target, self.base)).as_posix()


def _anchor(ds: str) -> str:
    return "ds-" + "".join(c if c.isalnum() else "-" for c in ds)


def _matrix(verdicts: list[Verdict], with_runs: set[str]) -> str:
    rows = []
    strategies: dict[str, list[Verdict]] = {}
    for v in verdicts:
        if v.kind == "strategy":
            strategies.setdefault(v.subject.split("/")[0], []).append(v)
    for v in (v for v in verdicts if v.kind == "datastore"):
        gate = "—"
        if v.gate and v.gate["runs"]:
            gate = (f"{v.gate['passes']}/{v.gate['runs']} {v.gate['judged_on']}, "
                    f"lower bound {v.gate['wilson_lower_bound']:.2f}")
            if v.gate["flaky"]:
                gate += f' <span class="badge">{len(v.gate["flaky"])} flaky</span>'
        words = _e(standing(v))
        needs = "<br>".join(_e(line) for line in details(v)) or "—"
        for sv in strategies.get(v.subject, []):
            needs += "".join(f"<br>{_e(sv.subject)}: {_e(line)}" for line in details(sv))
        if v.demotion:
            needs = (f'<span class="demoted">demoted from {_e(v.demotion["from"])}: '
                     f'{_e(v.demotion["why"])}</span><br>' + needs)
        strat = " ".join(f"{_e(s.subject.split('/')[1])} {_tier(s.tier)}"
                         for s in strategies.get(v.subject, []))
        name = (f'<a href="#{_anchor(v.subject)}">{_e(v.subject)}</a>'
                if v.subject in with_runs else _e(v.subject))
        rows.append(f"<tr><td>{name}</td><td>{_tier(v.tier)}</td><td>{words}</td>"
                    f"<td>{_e(v.claimed_tier)}</td><td>{v.runs_counted}</td><td>{gate}</td>"
                    f'<td class="small">{needs}</td><td class="small">{strat}</td></tr>')
    return ('<table id="matrix"><tr><th>datastore</th><th>tier</th><th>standing</th>'
            "<th>claims</th><th>runs</th><th>gate</th><th>next tier needs, evidence, notes</th>"
            "<th>strategies</th></tr>" + "".join(rows) + "</table>")


def _plot(ds: str, runs: list[dict]) -> str:
    """Pass rate over time (oldest left), runs grouped into HISTORY_POINTS buckets."""
    w, h, pad = 330, 110, 32
    size = max(1, -(-len(runs) // HISTORY_POINTS))
    buckets = [runs[i:i + size] for i in range(0, len(runs), size)]
    rates = [sum(r["status"] == "pass" for r in b) / len(b) for b in buckets]
    step = (w - 2 * pad) / max(1, len(rates) - 1)
    pts = [(pad + i * step, h - pad - r * (h - 2 * pad)) for i, r in enumerate(rates)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="'
                   f'{"#1a7f37" if r == 1 else "#cf222e"}"><title>{r:.0%}</title></circle>'
                   for (x, y), r in zip(pts, rates, strict=True))
    first, last = runs[0]["started"][:10], runs[-1]["started"][:10]
    return (f'<div class="plot"><b>{_e(ds)}</b> <span class="small">{len(runs)} runs, '
            f"{size} per point</span><br>"
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'role="img" aria-label="pass rate history of {_e(ds)}">'
            f'<line x1="{pad}" y1="{pad}" x2="{w - pad}" y2="{pad}" stroke="#d0d7de"/>'
            f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#8c959f"/>'
            f'<text x="2" y="{pad + 4}" font-size="10">100%</text>'
            f'<text x="2" y="{h - pad + 4}" font-size="10">0%</text>'
            f'<text x="{pad}" y="{h - 6}" font-size="10">{_e(first)}</text>'
            f'<text x="{w - pad}" y="{h - 6}" font-size="10" text-anchor="end">{_e(last)}</text>'
            f'<polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{line}"/>'
            f"{dots}</svg></div>")


def _durations(ds: str, runs: list[dict]) -> str:
    per: dict[str, list[float]] = {}
    for run in runs:
        for s in run["scenarios"]:
            if s["status"] != "skipped":
                key = s["id"] + (f" [{s['strategy']}]" if s.get("strategy") else "")
                per.setdefault(key, []).append(s["duration_s"])
    if not per:
        return ""
    top = max(max(v) for v in per.values()) or 1.0
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{statistics.median(v):.2f}</td><td>{max(v):.2f}</td>"
        f'<td><span class="bar" style="width:{120 * statistics.median(v) / top:.0f}px"></span>'
        f"</td><td>{len(v)}</td></tr>" for k, v in sorted(per.items()))
    return (f"<table><tr><th>scenario</th><th>median s</th><th>max s</th><th></th>"
            f"<th>runs</th></tr>{rows}</table>")


def _compare(ds: str, runs: list[dict], links: _Links) -> str:
    last = runs[-LAST_RUNS:][::-1]
    flaky = {f.key for f in flaky_scenarios(runs[-50:])}
    heads = []
    for run in last:
        href = links.run(run)
        label = _e(run["started"][:16].replace("T", " "))
        prov = run["provenance"]
        sub = _e(prov["kind"] + (" voting" if prov.get("voting") else ""))
        junit = links.run(run, "junit.xml")
        if junit:
            sub += f' <a href="{_e(junit)}">junit</a>'
        if run.get("_uncounted"):      # shown, never counted (unsigned, untrusted key...)
            sub += f' <b title="{_e(run["_uncounted"])}">not counted</b>'
        heads.append(f'<th><a href="{_e(href)}" title="{_e(run["run_id"])}">{label}</a><br>'
                     f'<span class="small">{sub}</span></th>' if href
                     else f"<th>{label}<br>{sub}</th>")
    keys: list[tuple] = []
    cells: dict[tuple, dict[int, dict]] = {}
    for i, run in enumerate(last):
        for s in run["scenarios"]:
            key = (s.get("version") or run["version"], s["id"], s.get("strategy") or "")
            if key not in cells:
                keys.append(key)
                cells[key] = {}
            cells[key][i] = s
    rows = []
    for key in sorted(keys):
        version, sid, strategy = key
        label = f"{ds} {version} {sid}" + (f" [{strategy}]" if strategy else "")
        is_flaky = label in flaky
        tds = []
        for i in range(len(last)):
            s = cells[key].get(i)
            if s is None:
                tds.append("<td></td>")
                continue
            mark = {"pass": "✓", "fail": "✗", "skipped": "–"}[s["status"]]
            if s.get("failure_kind") == "infra":
                mark += " infra"
            tip = _e(s.get("reason") or f"{s['duration_s']:.2f} s")
            tds.append(f'<td class="{s["status"]}" title="{tip}">{mark}</td>')
        badge = ' <span class="badge">flaky</span>' if is_flaky else ""
        rows.append(f'<tr class="{"flaky" if is_flaky else ""}"><td>{_e(version)} {_e(sid)}'
                    f"{' [' + _e(strategy) + ']' if strategy else ''}{badge}</td>"
                    + "".join(tds) + "</tr>")
    return (f'<table class="compare"><tr><th>scenario</th>{"".join(heads)}</tr>'
            + "".join(rows) + "</table>")


def render(verdicts: list[Verdict], runs: list[dict], page: Path, results_root: Path,
           rejected: list | None = None, static_path: Path | None = None) -> str:
    links = _Links(page, results_root)
    by_ds: dict[str, list[dict]] = {}
    for run in sorted(runs, key=lambda r: r["started"]):
        by_ds.setdefault(run["datastore"], []).append(run)
    known = {v.subject for v in verdicts if v.kind == "datastore"}
    shown = [ds for ds in sorted(by_ds) if ds in known]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
             f"<title>trove-verify report</title><style>{CSS}</style></head><body>",
             f"<h1>trove-verify: datastore tiers</h1><p class=small>generated {now} from "
             f"{len(runs)} bundle(s); static evidence: "
             f"{_e(static_path.name) if static_path else 'none'} "
             f"(static requirements read from {_e(trees(verdicts))}); "
             f"{len(rejected or [])} bundle(s) ignored as malformed</p>",
             "<h2>Tier matrix</h2>", _matrix(verdicts, set(shown)),
             "<h2>Pass-rate history</h2><div class=plots>",
             "".join(_plot(ds, by_ds[ds]) for ds in shown), "</div>"]
    for ds in shown:
        parts += [f'<h2 id="{_anchor(ds)}">{_e(ds)}</h2>',
                  f"<h3>Last {min(LAST_RUNS, len(by_ds[ds]))} runs side by side</h3>",
                  _compare(ds, by_ds[ds], links),
                  "<h3>Scenario durations</h3>", _durations(ds, by_ds[ds])]
    if rejected:
        parts.append("<h2>Ignored bundles</h2><ul>" + "".join(
            f"<li>{_e(r.path)}: {_e(r.reason)}</li>" for r in rejected) + "</ul>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
