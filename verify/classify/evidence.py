"""The runs of one datastore, sorted by what they may count for.

A run counts when its provenance is one the policy lets count, it is not
refused by the evidence index (``_uncounted``: e.g. unsigned), and some
scenario was answered by an engine the catalog accepts; unfinished runs
are kept apart (a killed voting gate run is a failed run).
"""

from __future__ import annotations

from verify.catalog import Datastore
from verify.classify.stability import GateStability, gate_stability, is_infra_failure
from verify.policy import Policy, tier_rank
from verify.scenarios.planner import scenario_tier

UNFINISHED = ("incomplete", "unknown")


def engine_of(scenario: dict, run: dict) -> str | None:
    engine = scenario.get("engine") or run.get("engine")
    return engine.get("name") if engine else None


def scenario_counts(scenario: dict, run: dict, ds: Datastore) -> bool:
    """A scenario answered by an engine the catalog does not accept meets
    nothing. A failure before any engine answered (Trove never brought the
    datastore up) still counts against it: only a pass needs the engine named."""
    engine = engine_of(scenario, run)
    if engine is None:
        return scenario.get("status") == "fail"
    return ds.accepts_engine(engine)


class Evidence:
    """Runs of one datastore, newest first, sorted by what they may count for."""

    def __init__(self, runs: list[dict], ds: Datastore, policy: Policy,
                 known_cycles: list[str] | None = None, previous: dict | None = None):
        self.ds, self.policy = ds, policy
        self.known_cycles = known_cycles or []
        self.previous = previous or {}
        self.stability: dict[str, GateStability] = {}
        self.counted: list[dict] = []         # finished runs of a counting provenance
        self.unfinished: list[dict] = []      # incomplete/unknown runs (gate: killed)
        self.ignored: list[dict] = []
        self.excluded: dict[str, list[str]] = {}   # why -> run ids
        self.excluded_engines: dict[str, set[str]] = {}
        prov = policy.provenance
        for run in sorted((r for r in runs if r["datastore"] == ds.name),
                          key=lambda r: r["started"], reverse=True):
            kind = prov.kind_of(run)
            run["_kind"] = kind
            why = None
            if not prov.counts.get(kind, False):
                # first: what the run is (a sample is a sample, signed or not)
                why = prov.says.get(kind, f"provenance {kind!r} is not one the policy knows")
                why = f"{kind}: {why}"
            elif run.get("_uncounted"):
                # the evidence index's word: e.g. unsigned or badly signed
                why = run["_uncounted"]
            elif run["scenarios"] and not any(scenario_counts(s, run, ds)
                                              for s in run["scenarios"]):
                engines = sorted({e for s in run["scenarios"] if (e := engine_of(s, run))})
                why = (f"stand-in: answered by {', '.join(engines)}, not an engine the "
                       f"catalog accepts as {ds.name}" if engines else
                       "no engine answered: no scenario got as far as the datastore")
            elif run["status"] in UNFINISHED:
                self.unfinished.append(run)
                if kind != "gate":
                    why = f"run is {run['status']}"
            if why:
                self.excluded.setdefault(why, []).append(run["run_id"])
                self.excluded_engines.setdefault(why, set()).add(
                    (run.get("engine") or {}).get("name") or "unidentified")
                self.ignored.append(run)
            elif run["status"] not in UNFINISHED:
                self.counted.append(run)

    def runs(self, kinds) -> list[dict]:
        return [r for r in self.counted if r["_kind"] in kinds]

    def latest_result(self, match, kinds) -> tuple[str | None, dict | None]:
        """Status of the newest scenario matching among runs of kinds, and its run."""
        for run in self.runs(kinds):
            hits = [s for s in run["scenarios"] if match(s) and s["status"] != "skipped"
                    and s.get("failure_kind") != "infra" and scenario_counts(s, run, self.ds)]
            if hits:
                status = "fail" if any(s["status"] == "fail" for s in hits) else "pass"
                return status, run
        return None, None

    def suite_result(self, kinds, tier: str | None = None) -> tuple[str | None, dict | None]:
        """(None when the newest run of kinds passed scenario by scenario, else
        why not; that run). Infra failures are passed over by policy.

        tier: judge only the scenarios that belong to that tier's suite, so a
        technical-preview run whose experimental scenarios all pass still
        shows that the experimental suite passes (a failing preview scenario
        counts against the preview requirements, not this one)."""
        runs = self.runs(kinds)
        if self.policy.stability.infra_failures == "exclude":
            runs = [r for r in runs if not is_infra_failure(r)] or runs
        if not runs:
            return "no run", None
        latest = runs[0]
        # a scenario answered by another engine spoils the whole run, whatever its tier
        foreign = [s["id"] for s in latest["scenarios"] if s["status"] != "skipped"
                   and not scenario_counts(s, latest, self.ds)]
        ran = [s for s in latest["scenarios"] if s["status"] != "skipped" and (
            tier is None
            or tier_rank(scenario_tier(s["id"], s["capability"])) <= tier_rank(tier))]
        failed = [s["id"] for s in ran if s["status"] != "pass"]
        if tier is None and latest["status"] != "pass":
            return f"the latest run {latest['run_id']} is {latest['status']}", latest
        if failed:
            return (f"in the latest run {latest['run_id']} {len(failed)} {tier} "
                    f"scenario(s) did not pass (e.g. {failed[0]})"), latest
        if not ran:
            return (f"the latest run {latest['run_id']} ran no "
                    f"{tier + ' ' if tier else ''}scenario"), latest
        if foreign:
            return (f"in {latest['run_id']} {len(foreign)} scenario(s) were answered by "
                    f"another engine (e.g. {foreign[0]})"), latest
        return None, latest

    def gate(self, subject: str, match=None) -> GateStability:
        """Gate stability of the runs (matching match), cached per subject."""
        if subject not in self.stability:
            def keep(rs):
                return rs if match is None else [
                    r for r in rs if any(match(s) for s in r["scenarios"])]
            self.stability[subject] = gate_stability(
                keep(self.counted), self.policy, self.known_cycles,
                promoted=self.previous.get(subject) == "stable",
                unfinished=keep([r for r in self.unfinished if r["_kind"] == "gate"]))
        return self.stability[subject]
