"""The tempest plugin's tests: one per scenario id, each with the permanent
idempotent id derived from it, the committed module up to date."""

from __future__ import annotations

import ast
import uuid

import pytest

from verify.tempest_plugin import generate, ids


def _decorated() -> dict[str, str]:
    """method name -> the idempotent id literal, read from the source as
    tempest's check-uuid reads it."""
    tree = ast.parse(generate.MODULE.read_text())
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            [deco] = [d for d in node.decorator_list
                      if isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "idempotent_id"]
            out[node.name] = deco.args[0].value
    return out


def test_the_committed_module_is_what_the_generator_writes():
    assert generate.main(["--check"]) == 0


def test_one_test_per_scenario_id_each_with_its_uuid5():
    found = _decorated()
    sids = generate.scenario_ids()
    assert set(found) == {ids.method_name(s) for s in sids}
    for sid in sids:
        assert found[ids.method_name(sid)] == str(uuid.uuid5(ids.NAMESPACE, sid))
    assert len(set(found.values())) == len(found)          # never shared


def test_a_retired_scenario_id_is_never_given_its_id_again(monkeypatch):
    monkeypatch.setitem(ids.RETIRED, "instance.create_delete",
                        ids.idempotent_id("instance.create_delete"))
    with pytest.raises(ValueError, match="retired"):
        ids.idempotent_id("instance.create_delete")


def test_the_plugin_registers_only_its_own_group():
    from verify.tempest_plugin import TroveVerifyTempestPlugin

    assert [g for g, _ in TroveVerifyTempestPlugin().get_opt_lists()] == ["trove_verify"]


def test_a_selection_plans_only_the_selected_scenario():
    from verify import catalog
    from verify.scenarios import planner

    ds = catalog.default().get("redis")
    plan = planner.plan(ds, "technical-preview", lambda _d, _v: None, ["7.0"],
                        ["backup.restore"])
    assert {t.info().id for t in plan.tests} == {"backup.restore"}
    assert all(s.id == "backup.restore" for s in plan.skipped)
