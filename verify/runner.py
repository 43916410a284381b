"""One run: plan the scenarios, run them (in parallel workers), record the
evidence bundle, tear everything down, and return the run's status."""

from __future__ import annotations

import contextlib
import io
import os
import platform
import queue
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import testtools

from verify import catalog as catalog_mod
from verify import deadline, harness_version, redact
from verify.errors import InfraError
from verify.evidence import Bundle, new_run_id
from verify.evidence.junit import junit_xml
from verify.evidence.stream import RedactingStreamResult
from verify.scenarios import planner
from verify.scenarios.base import RunContext, set_context
from verify.settings import Timeouts, repo_root, results_dir
from verify.state import Ledger, cleanup_stale

if TYPE_CHECKING:
    from verify.backends.base import Backend

_STATUS = {"success": "pass", "fail": "fail", "skip": "skipped", "xfail": "pass",
           "uxsuccess": "fail", "exists": "fail"}


@dataclass
class RunOptions:
    datastore: str
    tier: str | None = None
    backend: str = "local"
    guest: str | None = None       # None: namespace when privileged (see guests.default_kind)
    versions: list[str] | None = None
    workers: int | None = None     # None: the backend's default_workers
    results: Path | None = None
    provenance: dict | None = None
    cloud: str | None = None
    region: str | None = None
    scenarios: list[str] | None = None     # only these scenario ids (None: the tier's set)
    backend_choice: dict | None = None   # how a default backend was chosen, and why


class _KeepGoing:
    """The run's subunit copy on the harness's own disk: a write that fails
    (disk full) costs that copy, never the run or its bundle."""

    def __init__(self, fh):
        self.fh, self.error = fh, None

    def read(self, _n: int = -1) -> bytes:
        raise io.UnsupportedOperation("write-only")   # subunit probes for text streams

    def write(self, data: bytes) -> None:
        if self.error is None:
            try:
                self.fh.write(data)
            except OSError as exc:
                self.error = exc

    def flush(self) -> None:
        if self.error is None:
            try:
                self.fh.flush()
            except OSError as exc:
                self.error = exc


class _QueueWorker:
    """Pulls tests from a shared queue so slow scenarios don't stall a worker."""

    def __init__(self, tests: queue.Queue):
        self.tests = tests

    def run(self, result) -> None:
        while True:
            try:
                test = self.tests.get_nowait()
            except queue.Empty:
                return
            test.run(result)


def static_evidence(ds) -> dict:
    elements_dir = repo_root() / "elements"
    return {
        "supported_os": [o.name for o in ds.supported_os],
        "elements": {o.name: {e: (elements_dir / e / "element-deps").exists()
                              or (elements_dir / e).is_dir() for e in o.elements}
                     for o in ds.supported_os},
    }


def provenance_from_env(environ: dict | None = None) -> dict:
    environ = os.environ if environ is None else environ
    if environ.get("ZUUL_JOB") or environ.get("TROVE_VERIFY_GATE_JOB"):
        voting = environ.get("TROVE_VERIFY_GATE_VOTING", environ.get("ZUUL_VOTING", ""))
        return {"kind": "gate",
                "job": environ.get("TROVE_VERIFY_GATE_JOB") or environ.get("ZUUL_JOB"),
                "voting": voting.lower() in ("1", "true", "yes")}
    return {"kind": "local", "job": None, "voting": None}


def failure_kind(reason: str | None) -> str:
    """infra when the harness's own infrastructure failed (InfraError), else
    test: the scenario's failure stands against the datastore."""
    return "infra" if reason and reason.startswith(f"{InfraError.__module__}.InfraError") \
        else "test"


def _provenance(options: RunOptions, backend, ds) -> dict:
    """A stand-in the harness knowingly launched is said so: never classifies."""
    stand_in = backend.stand_in(ds)
    if stand_in:
        return {"kind": "stand-in", "job": stand_in, "voting": False}
    return options.provenance or provenance_from_env()


def make_backend(options: RunOptions, catalog, ledger, timeouts):
    from verify import backends
    return backends.make(options.backend, options, catalog=catalog, ledger=ledger,
                         timeouts=timeouts)


def execute(options: RunOptions, *, say: Callable[[str], None] = print) -> dict:
    """Run and return the final run record. Raises CannotRunHere before any bundle."""
    catalog = catalog_mod.default()
    ds = catalog.get(options.datastore)
    tier = options.tier or ds.claimed_tier
    timeouts = Timeouts.from_env()
    redact.register_environment()
    for line in cleanup_stale():
        say(f"cleanup: removed {line} left by an earlier run")

    if options.guest is None and options.backend == "local":
        from verify.guests import default_kind, host_binary_kind
        if not any(v.os for v in ds.versions):
            # no OS ships it, so no image: only a binary the user has can run
            options.guest, note = host_binary_kind(), None
        else:
            options.guest, note = default_kind()
        if note:
            say(note)
    run_id = new_run_id(ds.name)
    ledger = Ledger(run_id)
    backend = make_backend(options, catalog, ledger, timeouts)
    try:
        reason = backend.unavailable(ds, None)
        if reason:
            from verify.errors import CannotRunHere
            raise CannotRunHere(reason)
        unavailable = getattr(backend, "unavailable", lambda _ds, _v: None)
        the_plan = planner.plan(ds, tier, unavailable, options.versions,
                                options.scenarios)
        if hasattr(backend, "prepare"):     # images for namespace guests, before any scenario
            backend.prepare(ds, sorted({t.version for t in the_plan.tests}), say)
        return _run_plan(PlannedRun(options, ds, tier, the_plan, backend, ledger, catalog,
                                    timeouts, run_id, say))
    finally:
        with _signals_held():
            ledger.close()
            backend.close()
            ledger.teardown()


@dataclass(frozen=True)
class PlannedRun:
    """A run settled by execute(): what runs, where, and who hears of it."""

    options: RunOptions
    ds: catalog_mod.Datastore
    tier: str
    plan: planner.Plan
    backend: Backend
    ledger: Ledger
    catalog: catalog_mod.Catalog
    timeouts: Timeouts
    run_id: str
    say: Callable[[str], None]


def _run_plan(run: PlannedRun) -> dict:
    options, ds, tier, the_plan = run.options, run.ds, run.tier, run.plan
    backend, ledger, catalog, timeouts = run.backend, run.ledger, run.catalog, run.timeouts
    run_id, say = run.run_id, run.say
    bundle = Bundle.start(options.results or results_dir(), {
        "run_id": run_id,
        "harness_version": harness_version(),
        "backend": backend.name,
        "guest": backend.guest_kind(),
        "datastore": ds.name,
        "version": the_plan.versions[0],
        "versions": the_plan.versions,
        "tier": tier,
        "provenance": _provenance(options, backend, ds),
        "backend_choice": options.backend_choice or {"backend": options.backend,
                                                     "reason": "--backend", "default": False},
        "not_claimed": the_plan.not_claimed,
        "static": static_evidence(ds),
        "host": {"kernel": platform.release(), "python": platform.python_version()},
    })
    say(f"run {run_id}: {ds.name} {', '.join(the_plan.versions)} at tier {tier} "
        f"({len(the_plan.tests)} scenarios, {len(the_plan.skipped)} skipped, "
        f"backend {backend.name}, guest {backend.guest_kind()})")
    scratch = Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=ledger.dir))
    ledger.add("dir", str(scratch))
    ctx = RunContext(backend=backend, catalog=catalog, datastore=ds, timeouts=timeouts,
                     scratch=scratch)
    set_context(ctx)
    meta = {t.id(): t for t in the_plan.tests}
    records: list[dict] = []

    def on_test(event: dict) -> None:
        test = meta.get(event["id"])
        if test is None:
            return
        info = test.info()
        if event["status"] == "inprogress":
            # the run was stopped while this scenario ran: it neither passed
            # nor failed, and the bundle stays incomplete (never classifies)
            say(f"[-/{len(meta)}] interrupted {info.id} {test.version}"
                f"{' ' + test.strategy if test.strategy else ''}")
            return
        start, stop = event["timestamps"]
        duration = (stop - start).total_seconds() if start and stop else 0.0
        status = _STATUS.get(event["status"], "fail")
        note = ctx.notes.get(event["id"], {})
        reason = None
        logs = []
        details = event["details"]
        kind = note.get("failure_kind")    # the scenario's first error decided it
        if status != "pass":
            text = "".join(d.as_text() for d in details.values()) if details else ""
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"status {event['status']}"
            if status == "fail" and text:
                safe = event["id"].replace("/", "_")
                try:
                    tb = scratch / f"{safe}.traceback.txt"
                    tb.write_text(text)
                    logs.append(bundle.add_log(tb, f"{safe}/traceback.txt"))
                    log_dir = scratch / safe
                    for f in sorted(log_dir.glob("*")) if log_dir.is_dir() else []:
                        logs.append(bundle.add_log(f, f"{safe}/{f.name}"))
                except OSError as exc:
                    # the harness's own disk failed it: the evidence is partial
                    kind = "infra"
                    reason += f" (and its logs could not be kept: {exc.strerror})"
        try:
            for published in note.get("published_logs", []):
                logs.append(bundle.add_log(Path(published), Path(published).name))
        except OSError as exc:
            if status == "fail":
                kind = "infra"
            reason = (reason or "") + f" (published logs could not be kept: {exc.strerror})"
        records.append({
            "id": info.id, "test_id": event["id"], "capability": info.capability,
            "strategy": test.strategy, "version": test.version, "status": status,
            "duration_s": round(duration, 3), "reason": reason, "logs": logs,
            **({"failure_kind": kind or failure_kind(reason)} if status == "fail" else {}),
            "engine": note.get("engine"),
            # what the datastore did (e.g. a nemesis: writes acknowledged / lost)
            "observed": {k: v for k, v in note.items()
                         if k not in ("engine", "published_logs", "failure_kind")} or None,
        })
        say(f"[{len(records)}/{len(meta)}] {status:7} {info.id} "
            f"{test.version}{' ' + test.strategy if test.strategy else ''} {duration:.1f}s"
            + (f" — {reason}" if reason and status == "fail" else ""))

    tests: queue.Queue = queue.Queue()
    # costly scenarios (clusters, replication) first, so no worker ends with one
    for test in sorted(the_plan.tests, key=lambda t: (getattr(t.info(), "cost", 1),
                                                      t.info().tier), reverse=True):
        tests.put(test)
    workers = max(1, min(options.workers or backend.default_workers,
                         len(the_plan.tests) or 1))
    suite = testtools.ConcurrentStreamTestSuite(
        lambda: [(_QueueWorker(tests), str(i)) for i in range(workers)])
    subunit_tmp = scratch / "subunit.stream"
    started = time.monotonic()
    with open(subunit_tmp, "wb", buffering=0) as fh:    # unbuffered: close cannot fail
        stream = _KeepGoing(fh)
        result = testtools.CopyStreamResult([testtools.StreamToDict(on_test),
                                             RedactingStreamResult(stream)])
        result.startTestRun()
        try:
            suite.run(result)
        except BaseException as exc:  # Ctrl-C / SIGTERM: stop, record, tear down
            deadline.interrupt_all()    # the running scenarios stop waiting
            _abandon(tests, ledger)
            bundle.record.update(scenarios=list(records), interrupted=getattr(
                exc, "signal_name", type(exc).__name__))
            bundle.save()  # stays `incomplete`: a torn run never classifies
            say(f"run {run_id}: incomplete ({bundle.record['interrupted']}) — "
                f"bundle {bundle.root}")
            raise
        finally:
            result.stopTestRun()
            set_context(None)
    for skipped in the_plan.skipped:
        records.append({"id": skipped.id, "test_id": None, "capability": skipped.capability,
                        "strategy": skipped.strategy, "version": skipped.version,
                        "status": "skipped", "duration_s": 0.0, "reason": skipped.reason,
                        "logs": [], "engine": None})
    statuses = {r["status"] for r in records}
    status = "fail" if "fail" in statuses else "pass" if "pass" in statuses else "unknown"
    primary = next((r["engine"] for r in records
                    if r["engine"] and r["version"] == the_plan.versions[0]), None)
    bundle.write_subunit(subunit_tmp.read_bytes())
    if stream.error is not None:
        bundle.record["evidence_partial"] = (f"subunit.stream is cut short: "
                                             f"{stream.error.strerror} in {scratch}")
    bundle.write_file("junit.xml", junit_xml(f"trove-verify.{ds.name}", records))
    images = getattr(backend, "images", None)
    refs = {v: images.ref(v) for v in the_plan.versions} if images is not None else {}
    for ref in refs.values():
        if ref:     # the manifest (packages and versions inside) travels with the evidence
            src = Path(ref["manifest"])
            ref["manifest"] = bundle.add_log(src, f"images/{ref['name']}.manifest.json")
    bundle.finish(status, scenarios=records, engine=primary,
                  wall_s=round(time.monotonic() - started, 3),
                  image=refs.get(the_plan.versions[0]),
                  images={v: r for v, r in refs.items() if r})
    say(f"run {run_id}: {status} — bundle {bundle.root}")
    return bundle.record


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal. Ctrl-C (SIGINT) exits 130 as shells expect;
    SIGTERM (a job runner's timeout) exits 2: the run is incomplete."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signal_name = signal.Signals(signum).name
        self.exit_code = 130 if signum == signal.SIGINT else 2


def _abandon(tests: queue.Queue, ledger: Ledger) -> None:
    """No worker may start another scenario or create anything new."""
    while True:
        try:
            tests.get_nowait()
        except queue.Empty:
            break
    ledger.close()


@contextlib.contextmanager
def _signals_held():
    """Teardown is not cut short by a signal; one that arrives is delivered after."""
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        if main:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def install_signal_handlers() -> None:
    """SIGINT and SIGTERM raise Interrupted in the main thread so teardown
    runs; a second signal is ignored so it cannot cut teardown short (the
    teardown itself is bounded; SIGKILL leaves the rest to cleanup)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
