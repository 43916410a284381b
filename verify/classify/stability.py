"""Gate history -> is a suite stable, may it vote, and what says so.

Runs come newest first and already filtered to what may classify the
datastore. A run counts for stability when it came from the gate; a run
whose bundle attributes its failure to infrastructure (``failure_kind:
infra`` on the run or on every failed scenario) is reported apart and,
by policy, left out of the pass rate. A voting run that never finished
(incomplete, unknown: killed or timed out) is a failed run, by policy,
unless its bundle says infra; it is named among the killed runs. A
non-voting cycle is full when the gate moved past it and it holds
enough non-voting runs spread over enough days. A scenario is flaky when it passed
and failed on the same inputs (datastore, version, scenario id,
strategy) within the window.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from verify.policy import Policy


def wilson_lower_bound(passes: int, n: int, z: float) -> float:
    if n == 0:
        return 0.0
    p = passes / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / denom


@dataclass
class Flaky:
    key: str                     # "mariadb 10.11 backup.restore [mariabackup]"
    passes: int
    fails: int
    failed_in: list[str]


@dataclass
class GateStability:
    judged_on: str               # "voting" | "non-voting" | "none"
    runs: int = 0
    passes: int = 0
    bound: float = 0.0
    failed_runs: list[str] = field(default_factory=list)
    infra_runs: list[str] = field(default_factory=list)
    killed_runs: list[str] = field(default_factory=list)
    flaky: list[Flaky] = field(default_factory=list)
    nonvoting_cycles: list[str] = field(default_factory=list)
    votes: bool = False
    problem: str | None = None   # None when stable (and allowed to vote)

    @property
    def pass_rate(self) -> float:
        return self.passes / self.runs if self.runs else 0.0

    def evidence(self) -> list[str]:
        """Run ids that explain a problem: failures first, then flaky ones."""
        seen: list[str] = []
        for rid in self.failed_runs + [r for f in self.flaky for r in f.failed_in]:
            if rid not in seen:
                seen.append(rid)
        return seen


def is_infra_failure(run: dict) -> bool:
    if run["status"] == "pass":
        return False
    if run.get("failure_kind") == "infra":
        return True
    failed = [s for s in run["scenarios"] if s["status"] == "fail"]
    return bool(failed) and all(s.get("failure_kind") == "infra" for s in failed)


def flaky_scenarios(runs: list[dict]) -> list[Flaky]:
    seen: dict[tuple, list] = {}
    for run in runs:
        for s in run["scenarios"]:
            if s["status"] not in ("pass", "fail") or s.get("failure_kind") == "infra":
                continue
            key = (run["datastore"], s.get("version") or run["version"], s["id"],
                   s.get("strategy") or "")
            entry = seen.setdefault(key, [0, 0, []])
            if s["status"] == "pass":
                entry[0] += 1
            else:
                entry[1] += 1
                entry[2].append(run["run_id"])
    out = []
    for (ds, version, sid, strategy), (p, f, failed) in sorted(seen.items()):
        if p and f:
            label = f"{ds} {version} {sid}" + (f" [{strategy}]" if strategy else "")
            out.append(Flaky(label, p, f, failed))
    return out


def _cycle(run: dict) -> str | None:
    return run["provenance"].get("cycle")


def _full_cycles(nonvoting: list[dict], limit: str | None, policy: Policy) -> list[str]:
    """Non-voting cycles before limit holding enough runs over enough days."""
    st = policy.stability
    by_cycle: dict[str, list[str]] = {}
    for run in nonvoting:
        c = _cycle(run)
        if c and limit and c < limit:
            by_cycle.setdefault(c, []).append(run["started"])
    full = []
    for c, started in sorted(by_cycle.items()):
        days = (dt.datetime.fromisoformat(max(started))
                - dt.datetime.fromisoformat(min(started))).total_seconds() / 86400
        if len(started) >= st.nonvoting_cycle_min_runs and days >= st.nonvoting_cycle_min_days:
            full.append(c)
    return full


def nonvoting_cycle_rule(policy: Policy) -> str:
    st = policy.stability
    return (f"a full non-voting cycle holds >= {st.nonvoting_cycle_min_runs} runs over "
            f">= {st.nonvoting_cycle_min_days} days")


def gate_stability(runs: list[dict], policy: Policy, known_cycles: list[str],
                   promoted: bool = False, unfinished: list[dict] | None = None
                   ) -> GateStability:
    """Judge the gate runs among runs (newest first).

    unfinished: gate runs that never finished (incomplete, unknown); the
    voting ones count as failed runs when the policy says so.

    promoted: the previous release record already says stable, so the
    promotion rule (a full non-voting cycle before voting) is behind it.
    """
    st = policy.stability
    killed = [r for r in unfinished or [] if r["provenance"].get("voting")
              and st.unfinished_runs == "fail"]
    gate = sorted([r for r in runs if r["provenance"]["kind"] == "gate"] + killed,
                  key=lambda r: r["started"], reverse=True)
    voting = [r for r in gate if r["provenance"].get("voting")]
    nonvoting = [r for r in gate if not r["provenance"].get("voting")]
    first_voting = min((c for c in map(_cycle, voting) if c), default=None)
    latest = max(known_cycles, default=None)
    # a non-voting cycle is full when the gate has moved past it
    limit = first_voting or latest
    full = _full_cycles(nonvoting, limit, policy)
    result = GateStability("voting" if voting else "non-voting" if nonvoting else "none",
                           nonvoting_cycles=full, votes=bool(voting))
    if not gate:
        result.problem = (f"no gate runs (stable needs {st.min_runs} passing voting runs, "
                          f"after {st.nonvoting_cycles_before_voting} full non-voting "
                          "cycle(s))")
        return result
    window = (voting or nonvoting)[:st.window]
    infra = [r for r in window if is_infra_failure(r)]
    result.infra_runs = [r["run_id"] for r in infra]
    judged = [r for r in window if r not in infra] if st.infra_failures == "exclude" \
        else window
    result.runs = len(judged)
    result.passes = sum(1 for r in judged if r["status"] == "pass")
    result.failed_runs = [r["run_id"] for r in judged if r["status"] != "pass"]
    result.killed_runs = [r["run_id"] for r in judged if r["status"] in ("incomplete", "unknown")]
    result.bound = wilson_lower_bound(result.passes, result.runs, st.confidence_z)
    result.flaky = flaky_scenarios(judged)
    kind = result.judged_on
    infra_note = f" ({len(infra)} infra failure(s) left out)" if infra else ""
    if result.killed_runs:
        infra_note += f" ({len(result.killed_runs)} killed run(s) counted as failed)"
    needed = st.nonvoting_cycles_before_voting
    if result.runs < st.min_runs:
        result.problem = (f"only {result.runs} {kind} gate runs{infra_note} "
                          f"(needs {st.min_runs})")
    elif result.bound < st.wilson_lower_bound:
        result.problem = (f"{result.passes}/{result.runs} {kind} gate runs passed"
                          f"{infra_note}; Wilson lower bound {result.bound:.2f} < "
                          f"{st.wilson_lower_bound:.2f}")
    elif len(result.flaky) > st.max_flaky_scenarios:
        names = "; ".join(f"{f.key} ({f.passes} pass/{f.fails} fail)"
                          for f in result.flaky[:5])
        result.problem = (f"{len(result.flaky)} flaky scenario(s) (allowed "
                          f"{st.max_flaky_scenarios}): {names}")
    elif not promoted and len(full) < needed:
        have = ", ".join(full) or "none"
        result.problem = ((f"the gate job votes without {needed} full non-voting cycle(s) "
                           f"before (full non-voting cycles: {have}; "
                           f"{nonvoting_cycle_rule(policy)})") if voting else
                          (f"stable over {result.runs} non-voting runs, but promotion needs "
                           f"{needed} full non-voting cycle(s) (full so far: {have}; "
                           f"{nonvoting_cycle_rule(policy)})"))
    return result
