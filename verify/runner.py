"""One run: plan the scenarios, run them (in parallel workers), record the
evidence bundle, tear everything down, and return the run's status."""

from __future__ import annotations

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

import subunit
import testtools

from verify import catalog as catalog_mod
from verify import harness_version, redact
from verify.evidence import Bundle, new_run_id
from verify.evidence.junit import junit_xml
from verify.scenarios import planner
from verify.scenarios.base import RunContext, set_context
from verify.settings import Timeouts, repo_root, results_dir
from verify.state import Ledger, cleanup_stale

_STATUS = {"success": "pass", "fail": "fail", "skip": "skipped", "xfail": "pass",
           "uxsuccess": "fail", "exists": "fail", "inprogress": "fail"}


@dataclass
class RunOptions:
    datastore: str
    tier: str | None = None
    backend: str = "local"
    guest: str = "process"
    versions: list[str] | None = None
    workers: int = 2
    results: Path | None = None
    provenance: dict | None = None
    cloud: str | None = None
    region: str | None = None


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


def make_backend(options: RunOptions, catalog, ledger, timeouts):
    if options.backend == "local":
        from verify.backends.local import LocalBackend
        return LocalBackend(catalog, guest=options.guest, ledger=ledger, timeouts=timeouts)
    if options.backend == "trove":
        from verify.backends.trove import TroveBackend
        backend = TroveBackend(catalog, cloud=options.cloud, region=options.region,
                               timeouts=timeouts)
        if options.provenance is None:
            options.provenance = backend.provenance
        return backend
    from verify.errors import UsageError
    raise UsageError(f"unknown backend {options.backend!r}", fix="use --backend local|trove")


def execute(options: RunOptions, *, say: Callable[[str], None] = print) -> dict:
    """Run and return the final run record. Raises CannotRunHere before any bundle."""
    catalog = catalog_mod.default()
    ds = catalog.get(options.datastore)
    tier = options.tier or ds.claimed_tier
    timeouts = Timeouts.from_env()
    redact.register_environment()
    for line in cleanup_stale():
        say(f"cleanup: removed {line} left by an earlier run")

    run_id = new_run_id(ds.name)
    ledger = Ledger(run_id)
    backend = make_backend(options, catalog, ledger, timeouts)
    try:
        reason = backend.unavailable(ds, None) if hasattr(backend, "unavailable") else None
        if reason:
            from verify.errors import CannotRunHere
            raise CannotRunHere(reason)
        unavailable = getattr(backend, "unavailable", lambda _ds, _v: None)
        the_plan = planner.plan(ds, tier, unavailable, options.versions)
        return _run_plan(options, ds, tier, the_plan, backend, ledger, catalog, timeouts,
                         run_id, say)
    finally:
        backend.close()
        ledger.teardown()


def _run_plan(options, ds, tier, the_plan, backend, ledger, catalog, timeouts, run_id, say):
    bundle = Bundle.start(options.results or results_dir(), {
        "run_id": run_id,
        "harness_version": harness_version(),
        "backend": backend.name,
        "guest": backend.guest_kind(),
        "datastore": ds.name,
        "version": the_plan.versions[0],
        "versions": the_plan.versions,
        "tier": tier,
        "provenance": options.provenance or provenance_from_env(),
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
        start, stop = event["timestamps"]
        duration = (stop - start).total_seconds() if start and stop else 0.0
        status = _STATUS.get(event["status"], "fail")
        note = ctx.notes.get(event["id"], {})
        reason = None
        logs = []
        details = event["details"]
        if status != "pass":
            text = "".join(d.as_text() for d in details.values()) if details else ""
            lines = [ln for ln in text.strip().splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"status {event['status']}"
            if status == "fail" and text:
                safe = event["id"].replace("/", "_")
                tb = scratch / f"{safe}.traceback.txt"
                tb.write_text(text)
                logs.append(bundle.add_log(tb, f"{safe}/traceback.txt"))
                log_dir = scratch / safe
                for f in sorted(log_dir.glob("*")) if log_dir.is_dir() else []:
                    logs.append(bundle.add_log(f, f"{safe}/{f.name}"))
        for published in note.get("published_logs", []):
            logs.append(bundle.add_log(Path(published), Path(published).name))
        records.append({
            "id": info.id, "test_id": event["id"], "capability": info.capability,
            "strategy": test.strategy, "version": test.version, "status": status,
            "duration_s": round(duration, 3), "reason": reason, "logs": logs,
            "engine": note.get("engine"),
        })
        say(f"[{len(records)}/{len(meta)}] {status:7} {info.id} "
            f"{test.version}{' ' + test.strategy if test.strategy else ''} {duration:.1f}s"
            + (f" — {reason}" if reason and status == "fail" else ""))

    tests: queue.Queue = queue.Queue()
    # costly scenarios (clusters, replication) first, so no worker ends with one
    for test in sorted(the_plan.tests, key=lambda t: (getattr(t.info(), "cost", 1),
                                                      t.info().tier), reverse=True):
        tests.put(test)
    workers = max(1, min(options.workers, len(the_plan.tests) or 1))
    suite = testtools.ConcurrentStreamTestSuite(
        lambda: [(_QueueWorker(tests), str(i)) for i in range(workers)])
    subunit_tmp = scratch / "subunit.stream"
    started = time.monotonic()
    with open(subunit_tmp, "wb") as stream:
        result = testtools.CopyStreamResult([testtools.StreamToDict(on_test),
                                             subunit.StreamResultToBytes(stream)])
        result.startTestRun()
        try:
            suite.run(result)
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
    bundle.write_file("subunit.stream", subunit_tmp.read_bytes())
    bundle.write_file("junit.xml", junit_xml(f"trove-verify.{ds.name}", records))
    bundle.finish(status, scenarios=records, engine=primary,
                  wall_s=round(time.monotonic() - started, 3))
    say(f"run {run_id}: {status} — bundle {bundle.root}")
    return bundle.record


def install_signal_handlers() -> None:
    """SIGTERM behaves like Ctrl-C so teardown runs."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)
