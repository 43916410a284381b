"""Base class and run context for scenarios.

Like tempest's library layer, scenarios read nothing from files: the runner
hands them a RunContext (backend, catalog, timeouts, where logs go).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import testscenarios
import testtools

from verify.backends.base import Backend, Instance
from verify.catalog import Catalog, Datastore
from verify.engines.base import Credentials, Identity, random_password
from verify.settings import Timeouts


@dataclass(frozen=True)
class ScenarioInfo:
    id: str                 # permanent id, never reused
    capability: str
    tier: str = "experimental"
    strategy_capability: str | None = None   # multiply by the datastore's strategies


def scenario(id: str, capability: str, tier: str = "experimental",
             strategies: str | None = None):
    """Mark a test method as a scenario with a permanent id."""
    def decorate(fn):
        fn.scenario_info = ScenarioInfo(id, capability, tier, strategies)
        return fn
    return decorate


@dataclass
class RunContext:
    backend: Backend
    catalog: Catalog
    datastore: Datastore
    timeouts: Timeouts
    scratch: Path
    notes: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, test_id: str, **values) -> None:
        with self.lock:
            self.notes.setdefault(test_id, {}).update(values)


_context: RunContext | None = None


def set_context(ctx: RunContext | None) -> None:
    global _context
    _context = ctx


def context() -> RunContext:
    if _context is None:
        raise RuntimeError("scenarios run only inside a trove-verify run")
    return _context


class ScenarioTest(testscenarios.WithScenarios, testtools.TestCase):
    """Scenario attributes set by testscenarios: datastore, version, strategy."""

    datastore: str = ""
    version: str = ""
    strategy: str | None = None

    def setUp(self) -> None:
        super().setUp()
        self.ctx = context()
        self.backend = self.ctx.backend
        self.ds = self.ctx.catalog.get(self.datastore)
        self.log_dir = self.ctx.scratch / self.id().replace("/", "_")

    def info(self) -> ScenarioInfo:
        return getattr(self, self._testMethodName).scenario_info

    def note(self, **values) -> None:
        self.ctx.note(self.id(), **values)

    def record_identity(self, identity: Identity) -> None:
        self.note(engine=identity.as_dict())

    def create_instance(self, *, name: str | None = None, flavor: str = "small",
                        volume_gb: int = 1, version: str | None = None,
                        delete: bool = True) -> Instance:
        inst = self.backend.create_instance(self.datastore, version or self.version,
                                            name=name or self._testMethodName,
                                            flavor=flavor, volume_gb=volume_gb)
        if delete:
            self.addCleanup(self._delete_quietly, inst)
        return inst

    def _delete_quietly(self, inst: Instance) -> None:
        try:
            self.backend.collect_logs(inst, self.log_dir)
        finally:
            if inst.status != "DELETED":
                self.backend.delete_instance(inst)

    def new_credentials(self, prefix: str = "verify") -> Credentials:
        return Credentials(f"{prefix}_{random_password(6).lower()}", random_password())

    def sample_items(self, n: int = 20, tag: str = "v") -> dict[str, str]:
        return {f"key-{i:04d}": f"{tag}-{i}-{random_password(8)}" for i in range(n)}
