"""The technical-preview plan for MariaDB: one scenario module per capability,
strategy scenarios multiplied by the catalog's strategies, costly first."""

from verify import catalog
from verify.scenarios import planner


def test_mariadb_preview_plan_covers_every_claimed_capability():
    ds = catalog.default().get("mariadb")
    plan = planner.plan(ds, "technical-preview", lambda _ds, _v: None)
    planned = {t.info().capability for t in plan.tests}
    skipped = {s.capability for s in plan.skipped}
    assert set(ds.capabilities) <= planned | skipped
    assert planned >= {"instance", "databases", "users", "root", "configuration", "backup",
                       "replication", "cluster", "guest_logs"}
    strategies = {t.strategy for t in plan.tests if t.strategy}
    assert strategies == {s.name for s in ds.strategies}
    backup_tests = [t for t in plan.tests if t.info().id == "backup.restore"]
    assert sorted(t.strategy for t in backup_tests) == sorted(
        s.name for s in ds.strategies_for("backup"))


def test_scenario_ids_are_unique_per_method_and_costs_order_clusters_first():
    methods = planner.scenario_methods()
    ids = [info.id for _, _, info in methods]
    assert len(ids) == len(set(ids))
    costs = {info.id: info.cost for _, _, info in methods}
    assert costs["cluster.create_grow_shrink"] > costs["replication.replicate_promote"] > 1


def test_experimental_plan_stays_create_delete_only():
    ds = catalog.default().get("mariadb")
    plan = planner.plan(ds, "experimental", lambda _ds, _v: None)
    assert [t.info().id for t in plan.tests] == ["instance.create_delete"]
