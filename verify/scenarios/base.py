"""Base class and run context for scenarios.

Like tempest's library layer, scenarios read nothing from files: the runner
hands them a RunContext (backend, catalog, timeouts, where logs go).
"""

from __future__ import annotations

import contextvars
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import testscenarios
import testtools

from verify import deadline
from verify.backends.base import Backend, Instance
from verify.catalog import Catalog, Datastore
from verify.engines.base import Credentials, Identity, random_password, wait_for
from verify.errors import NotSupported, WaitTimeout, is_infra
from verify.settings import Timeouts


@dataclass(frozen=True)
class ScenarioInfo:
    id: str                 # permanent id, never reused
    capability: str
    tier: str = "experimental"
    strategy_capability: str | None = None   # multiply by the datastore's strategies
    cost: int = 1           # relative duration: the runner starts costly ones first
    needs: tuple[str, ...] = ()   # what the deployment must offer besides the capability


def scenario(id: str, capability: str, tier: str = "experimental",
             strategies: str | None = None, cost: int = 1, needs: tuple[str, ...] = ()):
    """Mark a test method as a scenario with a permanent id. ``needs`` names
    what the deployment must offer (e.g. "volumes"), asked of the backend
    like the capability before anything is created."""
    def decorate(fn):
        fn.scenario_info = ScenarioInfo(id, capability, tier, strategies, cost, needs)
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
        self._first_error: BaseException | None = None
        self.addOnException(self._classify_failure)
        for need in (self.info().capability, *self.info().needs):
            why = self.backend.capability_unavailable(need)
            if why:
                self.skipTest(why)
        self._start_watchdog()

    def _classify_failure(self, exc_info) -> None:
        """The first error decides whose fault the failure is: the harness's
        own (infra: its disk, its tools, its guests) or the datastore's (test).
        Later errors (a cleanup after it) do not change the root cause."""
        exc = exc_info[1]
        if self._first_error is not None or isinstance(exc, self.skipException):
            return
        self._first_error = exc
        self.note(failure_kind="infra" if is_infra(exc) else "test")

    # bounded time: a hung engine fails the scenario, never the whole run -----
    def _start_watchdog(self) -> None:
        """Open the scenario's deadline: every wait inside it (engine start,
        replication, cluster joins, Trove waits, guest boots, commands) waits
        at most the time left. When it runs out, tear down every instance
        whose creation has started: a client call blocked on a hung server
        then fails at once."""
        self._watched: list[Instance] = []
        self._expired = False
        self._deadline, token = deadline.enter(self.ctx.timeouts.scenario)
        # the watchdog's stops run in this context: after the deadline they get
        # only their short grace
        timer = threading.Timer(self.ctx.timeouts.scenario, contextvars.copy_context().run,
                                (self._expire,))
        timer.daemon = True
        self.addCleanup(deadline.leave, token)
        self.addCleanup(self._check_expired)    # runs last: its message ends the reason
        self.addCleanup(timer.cancel)
        timer.start()

    def _expire(self) -> None:
        self._expired = True
        with self._deadline.lock:
            watched = [*self._deadline.watched, *self._watched]
        seen: set[int] = set()
        for inst in watched:
            if id(inst) in seen:
                continue
            seen.add(id(inst))
            if inst.status != "DELETED":
                try:
                    self.backend.delete_instance(inst)
                except Exception:  # best effort; the run's ledger has the rest
                    pass

    def _check_expired(self) -> None:
        if self._expired or self._deadline.expired():
            during = self._deadline.ran_out
            raise WaitTimeout(f"the scenario exceeded its bound of "
                              f"{self.ctx.timeouts.scenario:.0f}s (TROVE_VERIFY_TIMEOUT_"
                              "SCENARIO)" + (f" waiting for {during}" if during else "")
                              + "; its instances were torn down")

    def addCleanup(self, function, *args, **kwargs) -> None:
        # every instance a scenario deletes on cleanup is one the watchdog may kill
        if getattr(function, "__func__", None) is ScenarioTest._delete_quietly and args:
            self._watched.append(args[0])
        super().addCleanup(function, *args, **kwargs)

    def info(self) -> ScenarioInfo:
        return getattr(self, self._testMethodName).scenario_info

    def note(self, **values) -> None:
        self.ctx.note(self.id(), **values)

    def record_identity(self, identity: Identity) -> None:
        self.note(engine=identity.as_dict())

    def create_instance(self, *, name: str | None = None, flavor: str = "small",
                        volume_gb: int = 1, version: str | None = None,
                        delete: bool = True, restore_from=None) -> Instance:
        kwargs = {"restore_from": restore_from} if restore_from is not None else {}
        try:
            inst = self.backend.create_instance(self.datastore, version or self.version,
                                                name=name or self._testMethodName,
                                                flavor=flavor, volume_gb=volume_gb, **kwargs)
        except Exception as exc:
            self.keep_salvaged_logs(exc)
            raise
        if delete:
            self.addCleanup(self._delete_quietly, inst)
        else:
            self._watched.append(inst)
        if "engine" not in self.ctx.notes.get(self.id(), {}):
            # evidence counts only with the engine's own word on what it is
            try:
                self.record_identity(self.backend.identity(inst))
            except BaseException:
                if not delete:   # the caller's clean-up has not begun: logs, then delete
                    self._delete_quietly(inst)
                raise
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
        return {f"{tag}-key-{i:04d}": f"{tag}-{i}-{random_password(8)}" for i in range(n)}

    # helpers shared by capability scenarios -----------------------------------
    def supported(self, verb, *args, **kwargs):
        """Call a backend verb; what the engine or guest cannot do here ends the
        scenario as skipped with the reason (never as a pass)."""
        try:
            return verb(*args, **kwargs)
        except NotSupported as exc:
            self.skipTest(str(exc))
        except Exception as exc:
            self.keep_salvaged_logs(exc)
            raise

    def keep_salvaged_logs(self, exc: BaseException) -> None:
        """Logs of instances a failed verb already deleted go with the failure."""
        for path in getattr(exc, "salvaged_logs", []):
            self.log_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.log_dir / Path(path).name)

    def data_target(self, inst: Instance) -> tuple[str | None, Credentials]:
        """A database and a user owning it, or the service credentials where the
        datastore has neither."""
        if self.ds.claims("databases") and self.ds.claims("users"):
            database, creds = f"verify_{random_password(6).lower()}", self.new_credentials()
            self.backend.create_database(inst, database)
            self.backend.create_user(inst, creds.user, creds.password, [database])
            return database, creds
        return None, self.backend.service_credentials(inst)

    def read(self, inst: Instance, creds: Credentials, database: str | None) -> dict:
        with self.backend.connect(inst, creds, database) as client:
            return client.read_items()

    def write(self, inst: Instance, creds: Credentials, database: str | None,
              items: dict[str, str]) -> None:
        with self.backend.connect(inst, creds, database) as client:
            client.write_items(items)

    def can_use(self, inst: Instance, creds: Credentials, database: str | None) -> bool:
        """Whether creds really reach database: log in, write, read back."""
        probe = {f"probe-{random_password(6)}": "x"}
        try:
            with self.backend.connect(inst, creds, database) as client:
                client.write_items(probe)
                return probe.items() <= client.read_items().items()
        except Exception:
            return False

    def assert_items(self, expected: dict[str, str], actual: dict[str, str],
                     absent: dict[str, str] | None = None) -> None:
        """Row by row: every expected key with its value; no absent key."""
        for key, value in expected.items():
            self.assertEqual(value, actual.get(key), f"row {key}")
        for key in absent or {}:
            self.assertNotIn(key, actual, f"row {key} must not be there")

    def eventually_items(self, inst: Instance, creds: Credentials, database: str | None,
                         expected: dict[str, str], what: str) -> None:
        """Wait (bounded) until inst holds every expected row."""
        def holds() -> bool:
            got = self.read(inst, creds, database)
            return all(got.get(k) == v for k, v in expected.items())
        wait_for(holds, timeout=self.ctx.timeouts.replication, what=what, interval=0.1)

    def eventually_everywhere(self, instances: list[Instance], creds: Credentials,
                              database: str | None, expected: dict[str, str],
                              what: str) -> None:
        """eventually_items on every instance (a cluster's members after a fault)."""
        for inst in instances:
            self.eventually_items(inst, creds, database, expected, f"{what} on {inst.id}")
