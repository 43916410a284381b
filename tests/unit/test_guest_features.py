"""Guest kinds: one registry, optional features as Protocols, and layers
that stay apart (engines know nothing of guests or backends; only the guests
layer tests a guest's kind)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from verify import guests
from verify.errors import NotSupported, UsageError
from verify.guests.base import (
    EngineSignals,
    Guest,
    LinkFaults,
    MemoryLimit,
    OwnVolume,
    SwitchesImage,
    VolumeFaults,
)

ROOT = Path(__file__).resolve().parents[2]
VERIFY = ROOT / "verify"
# what an engine may import: its own layer and the ones below it
ENGINE_MAY_IMPORT = ("verify.engines", "verify.errors", "verify.settings", "verify.redact",
                     "verify.deadline", "verify.catalog", "verify.policy")


def _rel(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "verify":
                found += [(node.lineno, f"verify.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def engine_layer_breaches(paths) -> list[str]:
    return [f"{_rel(p)}:{line}: imports {name}"
            for p in paths for line, name in imports_of(p)
            if name.startswith("verify") and not any(
                name == ok or name.startswith(ok + ".") for ok in ENGINE_MAY_IMPORT)]


def test_engines_import_nothing_from_guests_backends_or_above():
    paths = sorted((VERIFY / "engines").rglob("*.py"))
    assert len(paths) > 10
    assert engine_layer_breaches(paths) == []


def test_the_import_rule_catches_a_lazy_guest_import(tmp_path):
    probe = tmp_path / "engine.py"
    probe.write_text("from verify.engines.base import Server\n"
                     "def f():\n    from verify.guests.process import ProcessGuest\n"
                     "    from verify import backends, errors\n")
    assert engine_layer_breaches([probe]) == [f"{probe}:3: imports verify.guests.process",
                                              f"{probe}:4: imports verify.backends"]


def kind_tests(path: Path) -> list[str]:
    """Comparisons of anything with a guest kind's name ("process" == ...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        named = [c for c in operands if isinstance(c, ast.Constant) and c.value in guests.KINDS]
        named += [e for c in operands if isinstance(c, (ast.Tuple, ast.List, ast.Set))
                  for e in c.elts if isinstance(e, ast.Constant) and e.value in guests.KINDS]
        # the ledger's resource kind "process" is a process, not a guest kind
        ledger_kind = path.name == "state.py" and any(
            isinstance(c, ast.Name) and c.id == "kind" for c in operands)
        if named and not ledger_kind:
            found.append(f"{_rel(path)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_guest_kind_string_test_outside_the_guests_layer():
    found = [hit for p in sorted(VERIFY.rglob("*.py"))
             if "guests" not in p.relative_to(VERIFY).parts for hit in kind_tests(p)]
    assert found == [], "ask for a feature (verify.guests.base) or the runtime's " \
                        "host_binaries instead"


def test_the_kind_scan_catches_a_runtime_name_test(tmp_path):
    probe = tmp_path / "state.py"
    probe.write_text('if runtime.name == "process" or x in ("namespace",):\n    pass\n'
                     'if kind == "process":\n    pass\n')
    assert kind_tests(probe) == [f"{probe}:1: runtime.name == 'process'",
                                 f"{probe}:1: x in ('namespace',)"]


def test_every_registered_kind_is_a_guest_named_as_registered():
    assert guests.KINDS == tuple(guests.GUESTS)
    for kind in guests.KINDS:
        cls = guests.guest_class(kind)
        assert issubclass(cls, Guest) and cls.kind == kind
        assert isinstance(cls.host_binaries, bool)


def test_an_unknown_kind_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown guest 'qemu'.*namespace, process"):
        guests.guest_class("qemu")


def test_features_each_kind_has():
    process, namespace = guests.guest_class("process"), guests.guest_class("namespace")
    features = (EngineSignals, LinkFaults, VolumeFaults, OwnVolume, MemoryLimit, SwitchesImage)
    assert [f for f in features if issubclass(namespace, f)] == list(features)
    assert [f for f in features if issubclass(process, f)] == [EngineSignals]
    assert process.host_binaries and not namespace.host_binaries


def _local(kind: str):
    from verify.backends.local import LocalBackend
    backend = object.__new__(LocalBackend)     # no ledger or images needed to decline
    backend.guest, backend.guest_class = kind, guests.guest_class(kind)
    return backend


def test_a_fault_the_guest_kind_lacks_is_declined_before_anything_is_created():
    with pytest.raises(NotSupported, match="cutting a network link needs a guest with a "
                                           "network link of its own .a namespace guest.: "
                                           "a process guest shares"):
        _local("process").fault_possible("network")
    with pytest.raises(NotSupported, match="filling a data volume"):
        _local("process").fault_possible("volume")
    _local("namespace").fault_possible("network")      # no error: it can


def test_a_fault_on_a_guest_without_the_feature_is_not_supported():
    from verify.backends.base import FLAVORS, Instance

    class Bare:
        name = "bare"

    inst = Instance("i", "n", "mariadb", "10.11", FLAVORS["small"], 1,
                    extra={"guest": Bare(), "server": None})
    with pytest.raises(NotSupported, match="healing a network link .*a bare guest"):
        _local("process").heal_network(inst)
    with pytest.raises(NotSupported, match="freeing a data volume"):
        _local("process").free_volume(inst)
