"""Declared contracts, read from the code itself (as tempest lints its
library rules): every verb a scenario calls is declared on Backend, and
every backend either implements each optional verb or names it in
NOT_SUPPORTED with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verify.backends.base import OPTIONAL_VERBS, Backend
from verify.errors import NotSupported

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "verify" / "scenarios"


def _is_backend(node: ast.expr) -> bool:
    """`backend`, `self.backend`, `self.ctx.backend`, ..."""
    return (isinstance(node, ast.Name) and node.id == "backend") or \
        (isinstance(node, ast.Attribute) and node.attr == "backend")


VERBS = {n for n in dir(Backend) if not n.startswith("_") and callable(getattr(Backend, n))}


def backend_uses(source: str, filename: str) -> list[tuple[str, int, str]]:
    """(file, line, attribute) for every attribute a scenario reads off a
    backend, ("getattr()", ...) for every lookup of one by string, and
    ("by name()", ...) for a verb's name passed as a string (a helper that
    looks it up: self.fault("kill_server", inst))."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Constant) and node.value in VERBS:
            found.append((filename, node.lineno, "by name()"))
        if isinstance(node, ast.Attribute) and _is_backend(node.value):
            found.append((filename, node.lineno, node.attr))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "hasattr") and node.args and \
                _is_backend(node.args[0]):
            found.append((filename, node.lineno, f"{node.func.id}()"))
    return found


def undeclared(uses: list[tuple[str, int, str]]) -> list[str]:
    return [f"{f}:{line}: backend.{attr} is not declared on Backend" if
            not attr.endswith("()") else
            f"{f}:{line}: a verb {attr[:-2]}: call self.backend.<verb> directly" if
            attr == "by name()" else
            f"{f}:{line}: {attr} on a backend: call a verb declared on Backend"
            for f, line, attr in sorted(uses)
            if attr.endswith("()") or not hasattr(Backend, attr)]


def all_scenario_uses() -> list[tuple[str, int, str]]:
    uses = []
    for path in sorted(SCENARIOS.glob("*.py")):
        uses += backend_uses(path.read_text(), str(path.relative_to(ROOT)))
    return uses


def test_every_verb_a_scenario_calls_is_declared_on_backend():
    uses = all_scenario_uses()
    assert len({attr for _f, _l, attr in uses}) > 40, "the scan found too few verbs to trust"
    assert undeclared(uses) == []


def test_the_scan_catches_an_undeclared_verb_and_string_lookups():
    source = ("class T:\n"
              "    def test(self):\n"
              "        self.backend.upgrade(1)\n"
              "        getattr(self.backend, 'upgrade', None)\n"
              "        self.backend.create_instance('x')\n"
              "        self.supported(self.fault, 'kill_server', 1)\n")
    assert undeclared(backend_uses(source, "t.py")) == [
        "t.py:3: backend.upgrade is not declared on Backend",
        "t.py:4: getattr() on a backend: call a verb declared on Backend",
        "t.py:6: a verb by name: call self.backend.<verb> directly"]


def backend_classes() -> list[type[Backend]]:
    from verify import backends
    return [backends.backend_class(name) for name in backends.NAMES]


def missing_contract(cls: type[Backend]) -> list[str]:
    """The rule: each optional verb is either overridden or named in
    NOT_SUPPORTED with a reason, never both, never neither."""
    problems = []
    for verb in sorted(OPTIONAL_VERBS):
        implemented = getattr(cls, verb) is not getattr(Backend, verb)
        declined = verb in cls.NOT_SUPPORTED
        if implemented and declined:
            problems.append(f"{cls.__name__}.{verb} is implemented and also in NOT_SUPPORTED")
        elif not implemented and not declined:
            problems.append(f"{cls.__name__}.{verb}: neither implemented nor in "
                            "NOT_SUPPORTED with a reason")
        elif declined and not cls.NOT_SUPPORTED[verb].strip():
            problems.append(f"{cls.__name__}.{verb}: NOT_SUPPORTED gives no reason")
    problems += [f"{cls.__name__}.NOT_SUPPORTED names {v}, which is no optional verb"
                 for v in cls.NOT_SUPPORTED if v not in OPTIONAL_VERBS]
    return problems


@pytest.mark.parametrize("cls", backend_classes(), ids=lambda c: c.name)
def test_every_backend_implements_or_declines_each_verb(cls):
    assert missing_contract(cls) == []


def test_the_rule_catches_a_silent_gap_and_a_stale_entry():
    class Gappy(backend_classes()[0]):
        NOT_SUPPORTED = {"restart_instance": "it is a toy", "no_such_verb": "x"}
        resize_volume = Backend.resize_volume      # back to the default, undeclared

    problems = missing_contract(Gappy)
    assert "Gappy.resize_volume: neither implemented nor in NOT_SUPPORTED with a reason" \
        in problems
    assert "Gappy.restart_instance is implemented and also in NOT_SUPPORTED" in problems
    assert "Gappy.NOT_SUPPORTED names no_such_verb, which is no optional verb" in problems


def test_a_declined_verb_raises_not_supported_with_its_reason():
    from verify.backends.trove import TroveBackend
    backend = object.__new__(TroveBackend)     # no cloud needed to decline
    with pytest.raises(NotSupported, match="trove backend does not implement pause_server: "
                                           "Trove's API injects no faults"):
        backend.pause_server(None)
    # implemented through the deployment's guest faults; a cloud without them declines
    with pytest.raises(NotSupported, match="killing the datastore: Trove's API injects no "
                                           "faults, and this cloud gives"):
        backend.kill_server(None)


def test_upgrade_is_one_verb_on_both_backends():
    for cls in backend_classes():
        assert cls.upgrade_instance is not Backend.upgrade_instance, cls.__name__
        assert not hasattr(cls, "upgrade"), f"{cls.__name__} keeps a second upgrade verb"
