"""One capability registry (verify/catalog/capabilities.py): the catalog's
capabilities, the scenario modules, the Backend verbs the scenarios call and
the engine operations behind them must all agree with it."""

from __future__ import annotations

from verify import catalog, engines
from verify.backends.base import OPTIONAL_VERBS, Backend
from verify.catalog.capabilities import BY_NAME, CAPABILITIES, REGISTRY, STRATEGY_CAPABILITIES
from verify.engines.capabilities import CapabilityOps
from verify.scenarios.planner import scenario_methods

from .test_contracts import SCENARIOS, all_scenario_uses

# verify/scenarios modules that are not one capability's: shared code, and the
# nemesis, whose faults exercise several capabilities
NOT_A_CAPABILITY = {"__init__", "base", "planner", "nemesis"}
# optional Backend verbs no capability owns: faults and what the engine reports
FAULTS_AND_PROBES = {
    "fault_possible", "kill_server", "pause_server", "resume_server", "cut_network",
    "heal_network", "fill_volume", "free_volume", "revive_server", "restart_agent",
    "memory_in_effect", "boot_id", "volume_size_gb", "read_setting", "read_only",
    "cluster_primary", "cluster_size",
}


def test_the_catalog_takes_its_capabilities_from_the_registry():
    assert catalog.CAPABILITIES == CAPABILITIES
    assert catalog.STRATEGY_CAPABILITIES == STRATEGY_CAPABILITIES
    for ds in catalog.load():
        assert set(ds.capabilities) <= set(CAPABILITIES), ds.name
        for strategy in ds.strategies:
            assert BY_NAME[strategy.capability].strategies, f"{ds.name}/{strategy.name}"


def test_each_capability_is_one_scenario_module_and_nothing_else_is():
    modules = {p.stem for p in SCENARIOS.glob("*.py")} - NOT_A_CAPABILITY
    assert modules == set(CAPABILITIES), \
        f"scenario modules without a registry row: {sorted(modules - set(CAPABILITIES))}; " \
        f"registry rows without a module: {sorted(set(CAPABILITIES) - modules)}"
    for cls, _, info in scenario_methods():
        module = cls.__module__.rsplit(".", 1)[-1]
        assert info.capability in BY_NAME, f"{info.id}: unknown capability {info.capability}"
        if module not in NOT_A_CAPABILITY:
            assert info.capability == module, f"{info.id} is in {module}.py"
        if info.strategy_capability:
            assert BY_NAME[info.strategy_capability].strategies, info.id


def test_the_registry_verbs_are_declared_on_backend_and_owned_once():
    called = {attr for _, _, attr in all_scenario_uses()}
    owned: dict[str, str] = {}
    for cap in REGISTRY:
        for verb in cap.verbs:
            assert callable(getattr(Backend, verb, None)), f"{cap.name}: Backend lacks {verb}"
            assert verb not in owned, f"{verb} is in {owned.get(verb)} and {cap.name}"
            owned[verb] = cap.name
        assert called & set(cap.verbs), f"no scenario calls a verb of {cap.name}"
    unowned = OPTIONAL_VERBS - set(owned) - FAULTS_AND_PROBES
    assert not unowned, f"optional Backend verbs no capability owns: {sorted(unowned)}"


def test_the_operations_are_declared_and_every_claiming_engine_has_them():
    for cap in REGISTRY:
        for op in cap.operations:
            assert callable(getattr(CapabilityOps, op, None)), f"{cap.name}: no CapabilityOps.{op}"
    for ds in catalog.load():
        if ds.engine_module is None:
            continue
        have = engines.load(ds.engine_module).operations
        for name in ds.capabilities:
            missing = set(BY_NAME[name].operations) - have
            assert not missing, f"{ds.name} claims {name}; its engine lacks {sorted(missing)}"
