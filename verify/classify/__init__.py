"""Evidence + policy + catalog + the Trove tree -> a verdict per datastore
and per strategy.

A tier is reached only when its requirements and every lower tier's are
met (tiers are inclusive). Run evidence meets a requirement only when the
run's provenance is one the policy names for it (engine evidence, from
the local backend, meets nothing about Trove's API or guest agent) and
only scenario by scenario: a scenario answered by an engine the catalog
does not accept meets nothing. Static requirements are decided by the
inspected Trove tree: its registered guest-agent manager, its elements,
its unit tests and strategies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from verify.catalog import Catalog, Datastore, Strategy
from verify.classify.evidence import Evidence, scenario_counts
from verify.classify.stability import wilson_lower_bound
from verify.policy import Policy, Requirement, tier_rank

__all__ = ["Unmet", "Verdict", "classify", "wilson_lower_bound"]

# the provenances tiers.yaml says never count (kept here for callers that
# label runs; tests/unit/test_policy.py checks the two agree)
UNCOUNTED_PROVENANCE = {"stand-in", "trove-fake-compute", "sample"}


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
    # classified: the tier is met; eligible: Trove evidence outside the gate
    # meets eligible_tier and only gate runs are missing; demoted: it was
    # stable and the gate says no longer; no evidence: nothing counted
    standing: str = "classified"
    eligible_tier: str | None = None
    gate: dict | None = None
    demotion: dict | None = None
    trove_tree: str = ""         # the Trove tree the static requirements were read from
    # what each provenance kind contributed: kind -> counted run ids
    evidence: dict = field(default_factory=dict)
    engine_evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _kinds_words(kinds) -> str:
    return " or ".join(kinds)


def _no_agent(ds: Datastore, static: dict) -> str | None:
    """Why the inspected tree cannot run ds at all, or None."""
    if not static:
        return "no Trove tree inspected (run trove-verify inspect DIR or trove==VERSION)"
    if ds.name not in static.get("managers", {}):
        return f"{_tree(static)} has no guest agent for {ds.name}"
    return None


def _tree(static: dict) -> str:
    from verify.inspect import tree_name
    return tree_name(static)


def _check_datastore(req: Requirement, ev: Evidence, ds: Datastore, policy: Policy,
                     static: dict, kinds, official: bool = True) -> str | None:
    """None when met, else why not (plain words). kinds: provenances read;
    official False: would these runs meet it, were the gate not required."""
    check = req.check
    who = _kinds_words(kinds)
    if check == "guest_agent_registered":
        return _no_agent(ds, static)
    if check == "create_delete_passes":
        status, run = ev.latest_result(lambda s: s["id"] == "instance.create_delete", kinds)
        if status is None:
            return f"no {who} run of instance.create_delete"
        return None if status == "pass" else f"instance.create_delete failed in {run['run_id']}"
    if check == "suite_passes":
        why, _ = ev.suite_result(kinds, req.tier)
        return None if why is None else (f"no {who} run" if why == "no run" else why)
    if check in ("guest_elements_exist", "supported_os_defined"):
        blocked = _no_agent(ds, static)
        if blocked:
            return blocked
        image = static.get("guest_images", {}).get(ds.name)
        if not image or not image["elements"]:
            return f"{_tree(static)} has no elements to build a {ds.name} guest"
        if check == "supported_os_defined" and not image["os"]:
            return f"{_tree(static)}'s elements name no OS for {ds.name}"
        return None
    if check == "unit_tests_exist":
        blocked = _no_agent(ds, static)
        if blocked:
            return blocked
        found = static.get("unit_tests", {}).get(ds.name)
        return None if found else \
            f"no test module in {_tree(static)} imports or patches {ds.name}'s guest agent"
    if check == "claimed_capabilities_pass":
        missing = []
        for capability in ds.capabilities:
            status, run = ev.latest_result(lambda s, c=capability: s["capability"] == c, kinds)
            if status != "pass":
                missing.append(capability + (" (failed)" if status == "fail" else ""))
        return None if not missing else f"not verified by {who} runs: " + ", ".join(missing)
    if check == "guest_image_built":
        image = static.get("guest_images", {}).get(ds.name)
        if not image or not image["elements"]:
            return (f"{_tree(static)} has no mechanism to build a {ds.name} guest"
                    if static else _no_agent(ds, static))
        for run in ev.runs(kinds):
            ran = [s for s in run["scenarios"] if s["status"] != "skipped"]
            if run.get("image") and ran and all(
                    s["status"] == "pass" and scenario_counts(s, run, ds) for s in ran):
                return None
        return f"no {who} run whose every scenario passed on a built guest image"
    if check == "voting_suite_stable":
        if official:
            return ev.gate(ds.name).problem
        why, _ = ev.suite_result(kinds)
        return None if why is None else (f"no {who} run" if why == "no run" else why)
    return f"unknown check {check!r} in the policy"


def _check_strategy(req: Requirement, ev: Evidence, ds: Datastore, strategy: Strategy,
                    policy: Policy, static: dict, kinds, official: bool = True) -> str | None:
    check = req.check
    key = f"{ds.name}/{strategy.name}"
    who = _kinds_words(kinds)
    if check == "strategy_implemented":
        blocked = _no_agent(ds, static)
        if blocked:
            return blocked
        return None if key in static.get("strategies", {}) else \
            f"{_tree(static)} defines no {strategy.trove_name} (class or cluster package)"
    if check == "strategy_unit_tests_exist":
        if not static:
            return _no_agent(ds, static)
        found = static.get("strategy_unit_tests", {}).get(key)
        return None if found else \
            f"no test module in {_tree(static)} imports or patches {strategy.trove_name}"
    if check == "strategy_scenarios_pass":
        status, run = ev.latest_result(lambda s: s.get("strategy") == strategy.name, kinds)
        if status is None:
            return f"no {who} scenario exercised it"
        return None if status == "pass" else f"its scenario failed in {run['run_id']}"
    if check == "strategy_voting_stable":
        if official:
            return ev.gate(key, lambda s: s.get("strategy") == strategy.name).problem
        status, run = ev.latest_result(lambda s: s.get("strategy") == strategy.name, kinds)
        if status is None:
            return f"no {who} scenario exercised it"
        return None if status == "pass" else f"its scenario failed in {run['run_id']}"
    return f"unknown check {check!r} in the policy"


def _walk(tiers, requirements_for, check) -> tuple[str, str, list[Unmet], list[str], list]:
    """(tier reached, tier reached counting "eligible" evidence, unmet, met,
    [(unmet requirement, what outside the gate meets it)]).

    check(req, kinds, official) -> None when met by runs of kinds, else why not;
    official False asks whether those runs would meet it outside the gate.
    """
    reached, eligible, unmet, met, gaps = "none", "none", [], [], []
    blocked = blocked_eligible = False
    for tier in tiers:
        tier_unmet, eligible_unmet = [], False
        for req in requirements_for(tier):
            why = check(req, req.met_by, True)
            if why is None:
                met.append(req.id)
                continue
            u = Unmet(req.id, tier, req.text, why)
            tier_unmet.append(u)
            if req.eligible_by and check(req, req.eligible_by, False) is None:
                gaps.append((u, req.eligible_by))
            else:
                eligible_unmet = True
        unmet += tier_unmet
        if not blocked and not tier_unmet:
            reached = tier
        else:
            blocked = True
        if not blocked_eligible and not eligible_unmet:
            eligible = tier
        else:
            blocked_eligible = True
    return reached, eligible, unmet, met, gaps


def _rank(tier: str | None) -> int:
    return tier_rank(tier) if tier and tier not in ("none", "unknown") else -1


def _evidence_notes(v: Verdict, ev: Evidence, policy: Policy) -> None:
    """What each kind of run contributed, and every run left out, by name."""
    for run in ev.counted:
        v.evidence.setdefault(run["_kind"], []).append(run["run_id"])
    if v.kind == "datastore":
        for run in ev.runs(["engine"])[:3]:
            ran = [s for s in run["scenarios"] if s["status"] != "skipped"]
            passed = [s for s in ran
                      if s["status"] == "pass" and scenario_counts(s, run, ev.ds)]
            engine = run.get("engine") or {}
            v.engine_evidence.append(
                f"{run['run_id']}: {len(passed)}/{len(ran)} scenarios passed on "
                f"{engine.get('name', '?')} {engine.get('version', '')} "
                f"({run.get('backend', 'local')} backend, {run.get('guest', '?')} guest)")
    if v.kind == "datastore":
        _trove_runs_note(v, ev)
    for why, ids in ev.excluded.items():
        engines = ", ".join(sorted(ev.excluded_engines[why]))
        v.notes.append(f"{len(ids)} run(s) not counted ({why}; engines: {engines}): "
                       f"{', '.join(ids[:3])}" + (" ..." if len(ids) > 3 else ""))


def _trove_label(run: dict) -> str:
    """"box, Trove 26.0.0" from provenance {deployment, trove: {version|commit, dirty}}."""
    prov = run.get("provenance") or {}
    trove = prov.get("trove") or {}
    release = trove.get("version") or (trove.get("commit") or "")[:12] or "version unrecorded"
    dirty = " with local changes" if trove.get("dirty") else ""
    return f"{prov.get('deployment') or prov.get('cloud') or 'cloud'}, Trove {release}{dirty}"


def _trove_runs_note(v: Verdict, ev: Evidence) -> None:
    """Which Trove the trove runs exercised, and whether it is the inspected one."""
    runs = ev.runs(["trove"])
    if not runs:
        return
    by_label: dict[str, list[str]] = {}
    for run in runs:
        by_label.setdefault(_trove_label(run), []).append(run["run_id"])
    v.notes.append("Trove evidence: " + "; ".join(
        f"{len(ids)} run(s) on {label} ({', '.join(ids[:2])})"
        for label, ids in by_label.items()))
    inspected = v.trove_tree.removeprefix("Trove ")
    ran = {((r.get("provenance") or {}).get("trove") or {}).get("version") for r in runs} - {None}
    if v.trove_tree.startswith("Trove ") and ran and ran != {inspected}:
        v.notes.append(f"the runs exercised Trove {', '.join(sorted(ran))} while the static "
                       f"requirements were read from {v.trove_tree}")


def _finish(v: Verdict, eligible: str, gaps: list, ev: Evidence, static: dict,
            policy: Policy) -> Verdict:
    """Standing, gate summary, demotion and voting notes of a verdict."""
    _evidence_notes(v, ev, policy)
    if v.tier == "unknown":
        v.standing = "no evidence"
        return v
    st = ev.stability.get(v.subject)
    if st is not None:
        v.gate = {"judged_on": st.judged_on, "runs": st.runs, "passes": st.passes,
                  "pass_rate": round(st.pass_rate, 4),
                  "wilson_lower_bound": round(st.bound, 4),
                  "failed_runs": st.failed_runs, "infra_runs": st.infra_runs,
                  "killed_runs": st.killed_runs,
                  "flaky": [f.__dict__ for f in st.flaky],
                  "nonvoting_cycles": st.nonvoting_cycles, "votes": st.votes}
        if st.killed_runs:
            v.notes.append(f"{len(st.killed_runs)} voting run(s) never finished and count "
                           "as failed: " + ", ".join(st.killed_runs[:5]))
        if st.infra_runs:
            v.notes.append(f"{len(st.infra_runs)} infra failure(s) reported apart: "
                           + ", ".join(st.infra_runs[:5]))
        for f in st.flaky:
            v.notes.append(f"flaky: {f.key} passed {f.passes}, failed {f.fails} "
                           f"(e.g. {', '.join(f.failed_in[:3])})")
        # stable before: the last release said so, or it was promoted to voting
        # the proper way (after the non-voting cycles the policy asks for)
        was_stable = ev.previous.get(v.subject) == "stable" or (
            st.votes and len(st.nonvoting_cycles)
            >= policy.stability.nonvoting_cycles_before_voting)
        if v.tier != "stable" and was_stable and st.problem:
            v.demotion = {"from": "stable", "to": v.tier, "why": st.problem,
                          "evidence": st.evidence()}
            v.standing = "demoted"
            v.notes.append(f"demoted from stable: {st.problem}; evidence: "
                           + ", ".join(st.evidence()[:5]))
        elif v.tier != "stable" and st.votes:
            v.notes.append(f"its gate job votes while its tier is {v.tier}: "
                           "make it non-voting (trove-verify gate zuul does)")
    if v.standing != "demoted" and _rank(eligible) > _rank(v.tier):
        v.standing, v.eligible_tier = "eligible", eligible
        covered = [(u, kinds) for u, kinds in gaps if tier_rank(u.tier) <= tier_rank(eligible)]
        # the gate itself would have met them: name what stands in for it
        kinds = sorted({k for _, ks in covered for k in ks} - {"gate"}) or ["gate"]
        # the next tier's reasons are shown beside the verdict already
        later = [f"{u.id}: {u.why}" for u, _ in covered if u.tier != v.unmet[0].tier]
        v.notes.append(f"eligible for {eligible}: {_kinds_words(kinds)} runs already meet "
                       f"{', '.join(u.id for u, _ in covered)}; only gate runs can make "
                       "them official" + (f"; beyond the next tier: {'; '.join(later)}"
                                          if later else ""))
    # only a verdict that rests on Trove evidence can judge Trove's own jobs
    judged = bool(set(v.evidence) & {"trove", "gate"})
    for job in static.get("gate_jobs", []) if judged else []:
        if job.get("subject") == v.subject and job.get("voting") and v.tier != "stable":
            v.notes.append(f"Trove's gate job {job['name']} ({job['source']}) votes while "
                           f"its tier is {v.tier}")
    return v


def _datastore_verdict(ds: Datastore, ev: Evidence, policy: Policy,
                       static: dict) -> Verdict:
    tier, eligible, unmet, met, gaps = _walk(
        policy.tiers_for("datastore"),
        lambda t: policy.requirements_for("datastore", t),
        lambda req, kinds, official: _check_datastore(req, ev, ds, policy, static, kinds,
                                                      official))
    v = Verdict(ds.name, "datastore", tier if ev.counted or ev.unfinished else "unknown",
                ds.claimed_tier, len(ev.counted), len(ev.ignored), unmet, met,
                trove_tree=_tree(static))
    manager = static.get("managers", {}).get(ds.name)
    if manager and manager["placement"] == "experimental":
        # pre-Victoria Trove kept the datastores it did not call stable there
        v.notes.append(f"{_tree(static)} keeps the {ds.name} guest agent under "
                       f"guestagent/datastore/experimental/ ({manager['file']}): Trove "
                       "itself shipped it as experimental")
    return _finish(v, eligible, gaps, ev, static, policy)


def _strategy_verdict(ds: Datastore, strategy: Strategy, ev: Evidence, policy: Policy,
                      static: dict) -> Verdict:
    tier, eligible, unmet, met, gaps = _walk(
        policy.tiers_for("strategy"),
        lambda t: policy.requirements_for("strategy", t),
        lambda req, kinds, official: _check_strategy(req, ev, ds, strategy, policy, static,
                                                     kinds, official))
    exercised = [r for r in ev.counted
                 if any(s.get("strategy") == strategy.name for s in r["scenarios"])]
    v = Verdict(f"{ds.name}/{strategy.name}", "strategy",
                tier if exercised else "unknown", "", len(exercised), len(ev.ignored),
                unmet, met, trove_tree=_tree(static))
    return _finish(v, eligible, gaps, ev, static, policy)


def classify(runs: list[dict], catalog: Catalog, policy: Policy,
             static: dict | None = None, previous: dict | None = None) -> list[Verdict]:
    """Verdicts for every datastore and strategy of the catalog.

    static: the latest `trove-verify inspect` output (the Trove tree under
    test); previous: subject -> tier of the previous release record (a
    suite already stable there is past the promotion rule).
    """
    verdicts = []
    cycles = sorted({(r.get("provenance") or {}).get("cycle") for r in runs} - {None})
    by_ds: dict[str, list[dict]] = {}
    for run in runs:
        by_ds.setdefault(run["datastore"], []).append(run)
    for ds in catalog:
        ev = Evidence(by_ds.get(ds.name, []), ds, policy, cycles, previous)
        verdicts.append(_datastore_verdict(ds, ev, policy, static or {}))
        for strategy in ds.strategies:
            verdicts.append(_strategy_verdict(ds, strategy, ev, policy, static or {}))
    return verdicts
