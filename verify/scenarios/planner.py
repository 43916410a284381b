"""Size a datastore's scenario set to a tier.

Every claimed capability ends up in the plan: as tests to run, or as a
skipped record with the reason. Capabilities the datastore does not claim
are listed as not claimed and never run.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field

import testscenarios

from verify import scenarios as scenarios_pkg
from verify.catalog import Datastore
from verify.policy import TIER_ORDER, tier_rank
from verify.scenarios.base import ScenarioInfo, ScenarioTest

_NOT_SCENARIO_MODULES = {"base", "planner"}


@dataclass
class Skipped:
    id: str
    capability: str
    version: str
    reason: str
    strategy: str | None = None


@dataclass
class Plan:
    datastore: str
    tier: str
    tests: list = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    not_claimed: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)


def scenario_classes() -> list[type[ScenarioTest]]:
    found = []
    for mod in pkgutil.iter_modules(scenarios_pkg.__path__):
        if mod.name in _NOT_SCENARIO_MODULES or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"verify.scenarios.{mod.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, ScenarioTest) and obj is not ScenarioTest \
                    and obj.__module__ == module.__name__:
                found.append(obj)
    return found


def scenario_methods() -> list[tuple[type[ScenarioTest], str, ScenarioInfo]]:
    out = []
    for cls in scenario_classes():
        for name in sorted(dir(cls)):
            info = getattr(getattr(cls, name, None), "scenario_info", None)
            if name.startswith("test") and info is not None:
                out.append((cls, name, info))
    return out


def scenario_tier(scenario_id: str, capability: str) -> str:
    """The tier whose suite a scenario belongs to. An id this harness no
    longer has (an older bundle's) takes its capability's lowest tier, and
    an unknown capability the top tier, so it never decides a lower suite."""
    by_id, by_capability = _tiers()
    if scenario_id in by_id:
        return by_id[scenario_id]
    return by_capability.get(capability, TIER_ORDER[-1])


@functools.cache
def _tiers() -> tuple[dict[str, str], dict[str, str]]:
    """(scenario id -> tier, capability -> its lowest tier): the registry is
    scanned once, as classify asks per scenario of every run."""
    by_id: dict[str, str] = {}
    by_capability: dict[str, str] = {}
    for _, _, info in scenario_methods():
        by_id[info.id] = info.tier
        low = by_capability.get(info.capability, info.tier)
        by_capability[info.capability] = min(low, info.tier, key=tier_rank)
    return by_id, by_capability


def plan(ds: Datastore, tier: str, unavailable, versions: list[str] | None = None,
         only: list[str] | None = None) -> Plan:
    """unavailable(ds, version) -> reason or None, from the backend.
    only: scenario ids to keep (a tempest test runs one); None keeps all."""
    result = Plan(datastore=ds.name, tier=tier)
    wanted = versions or [v.name for v in ds.versions]
    for v in wanted:
        ds.version(v)  # unknown version -> ConfigError
    result.versions = list(wanted)
    methods = scenario_methods()
    result.not_claimed = sorted({i.capability for _, _, i in methods} - set(ds.capabilities))
    covered: set[str] = set()
    for cls, method, info in methods:
        if not ds.claims(info.capability) or tier_rank(info.tier) > tier_rank(tier):
            continue
        covered.add(info.capability)
        if only is not None and info.id not in only:
            continue    # deselected, not missing
        _add_scenario(result, ds, cls, method, info, unavailable)
    for capability in ds.capabilities:
        if capability not in covered:
            result.skipped += _uncovered(ds, capability, tier, methods, wanted)
    if only is not None:    # a selection says nothing about the capabilities left out
        result.skipped = [s for s in result.skipped if s.id in only]
    return result


def _add_scenario(result: Plan, ds: Datastore, cls, method: str, info: ScenarioInfo,
                  unavailable) -> None:
    """The scenario once per version (and strategy), or skipped with the reason."""
    strategies: list[str | None] = [None]
    if info.strategy_capability:
        strategies = [s.name for s in ds.strategies_for(info.strategy_capability)]
        if not strategies:
            result.skipped += [Skipped(info.id, info.capability, v,
                                       f"{ds.name} names no {info.strategy_capability} "
                                       "strategy") for v in result.versions]
            return
    for v in result.versions:
        reason = unavailable(ds, v)
        for strategy in strategies:
            if reason:
                result.skipped.append(Skipped(info.id, info.capability, v, reason, strategy))
                continue
            label = f"{ds.name}-{v}" + (f"-{strategy}" if strategy else "")
            params = {"datastore": ds.name, "version": v, "strategy": strategy}
            result.tests.extend(testscenarios.apply_scenarios([(label, params)], cls(method)))


def _uncovered(ds: Datastore, capability: str, tier: str, methods,
               wanted: list[str]) -> list[Skipped]:
    """A claimed capability no scenario at this tier covers: skipped with why,
    unless its scenarios all sit above the requested tier."""
    # a capability without scenarios belongs to technical preview, except
    # instance create/delete, which experimental needs
    fallback = "experimental" if capability == "instance" else "technical-preview"
    lowest = min((tier_rank(i.tier) for _, _, i in methods if i.capability == capability),
                 default=tier_rank(fallback))
    if lowest > tier_rank(tier):
        return []   # above the requested tier: not part of this suite
    if not any(i.capability == capability for _, _, i in methods):
        reason = f"no scenario for {capability} exists in this harness yet"
    else:
        reason = f"no scenario for {capability} at tier {tier}"
    return [Skipped(f"{capability}.*", capability, v, reason) for v in wanted]
