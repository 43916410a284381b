"""Evidence + policy + catalog -> a verdict per datastore and per strategy.

A tier is reached only when its requirements and every lower tier's are
met (tiers are inclusive). Evidence counts only when the engine that
answered is one the catalog accepts for the datastore, and only from
provenances that can classify (not stand-ins, not Trove's fake compute).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from verify.catalog import Catalog, Datastore, Strategy
from verify.classify.stability import (
    GateStability,
    gate_stability,
    is_infra_failure,
    wilson_lower_bound,
)
from verify.policy import Policy, Requirement, tier_rank

__all__ = ["Unmet", "Verdict", "classify", "wilson_lower_bound"]

UNCOUNTED_PROVENANCE = {"trove-fake-compute", "stand-in"}


@dataclass
class Unmet:
    id: str
    tier: str
    text: str
    why: str


@dataclass
class Verdict:
    subject: str                 # "mariadb" or "mariadb/mariabackup"
    kind: str                    # datastore | strategy
    tier: str                    # unknown | none | experimental | technical-preview | stable
    claimed_tier: str
    runs_counted: int
    runs_ignored: int
    unmet: list[Unmet] = field(default_factory=list)
    met: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # classified: the tier is met including gate history; eligible: local
    # evidence meets eligible_tier and only gate history is missing
    standing: str = "classified"
    eligible_tier: str | None = None
    gate: dict | None = None
    demotion: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def counts(run: dict, ds: Datastore) -> tuple[bool, str]:
    """Whether a run may classify ds, and why not."""
    if run["datastore"] != ds.name:
        return False, "other datastore"
    if run.get("_uncounted"):           # the evidence layer's word: unsigned, forged...
        return False, run["_uncounted"]
    if run["provenance"]["kind"] in UNCOUNTED_PROVENANCE:
        return False, f"provenance {run['provenance']['kind']} never classifies"
    if run["status"] in ("incomplete", "unknown"):
        return False, f"run is {run['status']}"
    return True, ""


def _scenario_counts(scenario: dict, ds: Datastore) -> bool:
    engine = scenario.get("engine")
    return scenario["status"] != "pass" or (engine is not None
                                           and ds.accepts_engine(engine["name"]))


class _Evidence:
    """Counted runs of one datastore, newest first, plus what was ignored."""

    def __init__(self, runs: list[dict], ds: Datastore, known_cycles: list[str] | None = None,
                 previous: dict | None = None):
        self.ds = ds
        self.known_cycles = known_cycles or []
        self.previous = previous or {}
        self.stability: dict[str, GateStability] = {}
        self.counted, self.ignored, self.stand_in = [], [], []
        for run in sorted((r for r in runs if r["datastore"] == ds.name),
                          key=lambda r: r["started"], reverse=True):
            ok, _ = counts(run, ds)
            engine = run.get("engine")
            # labelled a stand-in by the run, or answered by an engine the
            # catalog does not accept for this datastore
            if (run.get("provenance") or {}).get("kind") == "stand-in" or (
                    ok and engine and not ds.accepts_engine(engine["name"])):
                self.stand_in.append(run)
                ok = False
            (self.counted if ok else self.ignored).append(run)

    def latest_result(self, match) -> tuple[str | None, dict | None]:
        """Status of the newest counted scenario matching, and its run."""
        for run in self.counted:
            hits = [s for s in run["scenarios"] if match(s) and s["status"] != "skipped"
                    and s.get("failure_kind") != "infra" and _scenario_counts(s, self.ds)]
            if hits:
                status = "fail" if any(s["status"] == "fail" for s in hits) else "pass"
                return status, run
        return None, None

    def gate(self, subject: str, policy: Policy, match=None) -> GateStability:
        """Gate stability of the runs (matching match), cached per subject."""
        if subject not in self.stability:
            runs = self.counted if match is None else [
                r for r in self.counted if any(match(s) for s in r["scenarios"])]
            self.stability[subject] = gate_stability(
                runs, policy, self.known_cycles,
                promoted=self.previous.get(subject) == "stable")
        return self.stability[subject]


def _check_datastore(req: Requirement, ev: _Evidence, ds: Datastore, policy: Policy,
                     static: dict) -> str | None:
    """None when met, else why not (plain words)."""
    check = req.check
    if check == "create_delete_passes":
        status, run = ev.latest_result(lambda s: s["id"] == "instance.create_delete")
        if status is None:
            return "no counted run of instance.create_delete"
        return None if status == "pass" else f"instance.create_delete failed in {run['run_id']}"
    if check == "suite_passes":
        if not ev.counted:
            return "no counted run"
        # a run the bundle says died of infrastructure says nothing about the suite
        exclude = policy.stability.infra_failures == "exclude"
        latest = next((r for r in ev.counted if not (exclude and is_infra_failure(r))),
                      ev.counted[0])
        return None if latest["status"] == "pass" else \
            f"the latest counted run {latest['run_id']} is {latest['status']}"
    if check == "supported_os_defined":
        return None if ds.supported_os else "the catalog defines no supported OS"
    if check == "guest_elements_exist":
        if not ds.supported_os:
            return "no supported OS, so no guest elements"
        missing = [e for o in ds.supported_os for e in o.elements
                   if not static.get("elements", {}).get(e)]
        empty = [o.name for o in ds.supported_os if not o.elements]
        if empty:
            return f"no guest elements named for {', '.join(empty)}"
        return f"missing elements: {', '.join(missing)}" if missing else None
    if check == "unit_tests_exist":
        found = static.get("unit_tests", {}).get(ds.name)
        if found is None:
            return "no static inspection of a Trove source tree (trove-verify inspect)"
        return None if found else "the inspected Trove tree has no unit tests for it"
    if check == "claimed_capabilities_pass":
        missing = []
        for capability in ds.capabilities:
            status, run = ev.latest_result(lambda s, c=capability: s["capability"] == c)
            if status != "pass":
                missing.append(capability + (" (failed)" if status == "fail" else ""))
        return None if not missing else "not verified: " + ", ".join(missing)
    if check == "guest_image_built":
        for run in ev.counted:
            if run.get("image") and run["status"] == "pass":
                return None
        return "no passing run on a guest image built from elements/ (--guest namespace)"
    if check == "voting_suite_stable":
        return ev.gate(ds.name, policy).problem
    return f"unknown check {check!r} in the policy"


def _check_strategy(req: Requirement, ev: _Evidence, ds: Datastore, strategy: Strategy,
                    policy: Policy, static: dict) -> str | None:
    check = req.check
    if check == "strategy_implemented":
        return None if strategy.trove_name else "no Trove implementation named"
    if check == "strategy_unit_tests_exist":
        found = static.get("strategy_unit_tests", {}).get(f"{ds.name}/{strategy.name}")
        if found is None:
            return "no static inspection of a Trove source tree (trove-verify inspect)"
        return None if found else "no unit tests for it in the inspected Trove tree"
    if check == "strategy_scenarios_pass":
        status, run = ev.latest_result(lambda s: s.get("strategy") == strategy.name)
        if status is None:
            return "no counted scenario exercised it"
        return None if status == "pass" else f"its scenario failed in {run['run_id']}"
    if check == "strategy_voting_stable":
        return ev.gate(f"{ds.name}/{strategy.name}", policy,
                       lambda s: s.get("strategy") == strategy.name).problem
    return f"unknown check {check!r} in the policy"


def _walk(tiers, requirements_for, check) -> tuple[str, str, list[Unmet], list[str]]:
    """(tier reached, tier reached if gate history were met, unmet, met)."""
    reached, eligible, unmet, met = "none", "none", [], []
    blocked = blocked_local = False
    for tier in tiers:
        tier_unmet, local_unmet = [], False
        for req in requirements_for(tier):
            why = check(req)
            if why is None:
                met.append(req.id)
            else:
                tier_unmet.append(Unmet(req.id, tier, req.text, why))
                local_unmet = local_unmet or req.evidence != "gate"
        unmet += tier_unmet
        if not blocked and not tier_unmet:
            reached = tier
        else:
            blocked = True
        if not blocked_local and not local_unmet:
            eligible = tier
        else:
            blocked_local = True
    return reached, eligible, unmet, met


def _rank(tier: str | None) -> int:
    return tier_rank(tier) if tier and tier not in ("none", "unknown") else -1


def _finish(v: Verdict, eligible: str, ev: _Evidence, static: dict,
            policy: Policy) -> Verdict:
    """Standing, gate summary, demotion and voting notes of a verdict."""
    if v.tier == "unknown":
        return v
    if _rank(eligible) > _rank(v.tier):
        v.standing, v.eligible_tier = "eligible", eligible
        v.notes.append(f"eligible for {eligible}: local evidence meets it; "
                       "gate history does not (yet)")
    st = ev.stability.get(v.subject)
    if st is None:
        return v
    v.gate = {"judged_on": st.judged_on, "runs": st.runs, "passes": st.passes,
              "pass_rate": round(st.pass_rate, 4), "wilson_lower_bound": round(st.bound, 4),
              "failed_runs": st.failed_runs, "infra_runs": st.infra_runs,
              "flaky": [f.__dict__ for f in st.flaky],
              "nonvoting_cycles": st.nonvoting_cycles, "votes": st.votes}
    if st.infra_runs:
        v.notes.append(f"{len(st.infra_runs)} infra failure(s) reported apart: "
                       + ", ".join(st.infra_runs[:3]))
    for f in st.flaky:
        v.notes.append(f"flaky: {f.key} passed {f.passes}, failed {f.fails} "
                       f"(e.g. {', '.join(f.failed_in[:3])})")
    # stable before: the last release said so, or it was promoted to voting
    # the proper way (after the non-voting cycles the policy asks for)
    was_stable = ev.previous.get(v.subject) == "stable" or (
        st.votes and len(st.nonvoting_cycles) >= policy.stability.nonvoting_cycles_before_voting)
    if v.tier != "stable" and was_stable and st.problem:
        v.demotion = {"from": "stable", "to": v.tier, "why": st.problem,
                      "evidence": st.evidence()}
        v.notes.append(f"demoted from stable: {st.problem}; evidence: "
                       + ", ".join(st.evidence()[:5]))
    elif v.tier != "stable" and st.votes:
        v.notes.append(f"its gate job votes while its tier is {v.tier}: "
                       "make it non-voting (trove-verify gate zuul does)")
    for job in static.get("gate_jobs", []):
        if job.get("subject") == v.subject and job.get("voting") and v.tier != "stable":
            v.notes.append(f"Trove's gate job {job['name']} ({job['source']}) votes while "
                           f"its tier is {v.tier}")
    return v


def _datastore_verdict(ds: Datastore, ev: _Evidence, policy: Policy,
                       static: dict) -> Verdict:
    tier, eligible, unmet, met = _walk(
        policy.tiers_for("datastore"),
        lambda t: policy.requirements_for("datastore", t),
        lambda req: _check_datastore(req, ev, ds, policy, static))
    notes = []
    unsigned = [r for r in ev.ignored if r.get("_uncounted")]
    if unsigned:
        notes.append(f"{len(unsigned)} run(s) shown but not counted: "
                     f"{unsigned[0]['_uncounted']}" + (" (and others)" if len(unsigned) > 1
                                                       else ""))
    if ev.stand_in:
        engines = sorted({(r.get("engine") or {}).get("name", "unidentified")
                          for r in ev.stand_in})
        notes.append(f"{len(ev.stand_in)} stand-in run(s) ({', '.join(engines)}) "
                     "kept but not counted")
    v = Verdict(ds.name, "datastore", tier if ev.counted else "unknown", ds.claimed_tier,
                len(ev.counted), len(ev.ignored), unmet, met, notes)
    return _finish(v, eligible, ev, static, policy)


def _strategy_verdict(ds: Datastore, strategy: Strategy, ev: _Evidence, policy: Policy,
                      static: dict) -> Verdict:
    tier, eligible, unmet, met = _walk(
        policy.tiers_for("strategy"),
        lambda t: policy.requirements_for("strategy", t),
        lambda req: _check_strategy(req, ev, ds, strategy, policy, static))
    v = Verdict(f"{ds.name}/{strategy.name}", "strategy",
                tier if ev.counted else "unknown", "", len(ev.counted), len(ev.ignored),
                unmet, met)
    return _finish(v, eligible, ev, static, policy)


def _static_for(ds: Datastore, ev: _Evidence, static: dict) -> dict:
    """Static evidence given, plus what the latest run of ds recorded."""
    merged = dict(static)
    elements = dict(static.get("elements", {}))
    for run in ev.counted[:1] + ev.ignored[:1]:
        for per_os in run.get("static", {}).get("elements", {}).values():
            for name, present in per_os.items():
                elements.setdefault(name, present)
    merged["elements"] = elements
    return merged


def classify(runs: list[dict], catalog: Catalog, policy: Policy,
             static: dict | None = None, previous: dict | None = None) -> list[Verdict]:
    """Verdicts for every datastore and strategy of the catalog.

    static: the latest `trove-verify inspect` output; previous: subject ->
    tier of the previous release record (a suite already stable there is
    past the promotion rule).
    """
    verdicts = []
    cycles = sorted({r["provenance"].get("cycle") for r in runs} - {None})
    by_ds: dict[str, list[dict]] = {}
    for run in runs:
        by_ds.setdefault(run["datastore"], []).append(run)
    for ds in catalog:
        ev = _Evidence(by_ds.get(ds.name, []), ds, cycles, previous)
        ds_static = _static_for(ds, ev, static or {})
        verdicts.append(_datastore_verdict(ds, ev, policy, ds_static))
        for strategy in ds.strategies:
            verdicts.append(_strategy_verdict(ds, strategy, ev, policy, ds_static))
    return verdicts
