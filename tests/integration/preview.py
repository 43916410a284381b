"""Shared checks for the technical-preview integration suites: run the CLI
for real, then read the bundle as a reviewer would."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import cli
from verify import catalog


@pytest.fixture
def workdir():
    # pytest's tmp_path is private to root; the service user must traverse this one
    path = Path(tempfile.mkdtemp(prefix="tv-it-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def started_on_process_guest(label: str, make: Callable) -> Iterator:
    """One server, make(guest), started on a process guest in a private work
    dir; for a module's engine-level tests (each start costs)."""
    from verify.guests.process import ProcessGuest
    from verify.state import Ledger

    root = Path(tempfile.mkdtemp(prefix="tv-it-", dir="/tmp"))
    root.chmod(0o755)
    patch = pytest.MonkeyPatch()
    patch.setenv("TROVE_VERIFY_WORKDIR", str(root / "work"))
    ledger = Ledger(f"pytest-{label}")
    guest = ProcessGuest(label, ledger)
    server = make(guest)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        guest.destroy()
        ledger.teardown()
        patch.undo()
        shutil.rmtree(root, ignore_errors=True)


def processes_under(root: Path) -> list[str]:
    """Processes whose working directory is inside root (every guest process
    runs in its instance directory; redis-server rewrites its argv)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(root)):
            found.append(f"{proc.name}: {cmd}")
    return found


def run_preview(datastore: str, results: Path, workdir: Path, *args: str) -> dict:
    """`trove-verify run DS --tier technical-preview [args]`; return its run.json."""
    proc = cli("run", datastore, "--tier", "technical-preview", *args,
               env={"TROVE_VERIFY_WORKDIR": str(workdir / "work")}, timeout=900)
    bundles = [p for p in results.iterdir() if p.is_dir()] if results.exists() else []
    assert len(bundles) == 1, proc.stdout + proc.stderr
    run = json.loads((bundles[0] / "run.json").read_text())
    failed = [(s["id"], s.get("strategy"), s.get("reason")) for s in run["scenarios"]
              if s["status"] not in ("pass", "skipped")]
    assert proc.returncode == 0, f"failed scenarios: {failed}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    assert run["status"] == "pass"
    # nothing left running, nothing left on disk
    assert processes_under(workdir) == []
    instances = workdir / "work" / "instances"
    assert not instances.exists() or not list(instances.iterdir())
    return run


def assert_every_claim_covered(run: dict, datastore: str,
                               cannot_run_here: frozenset[str] = frozenset()
                               ) -> dict[str, set[str]]:
    """Every claimed capability has pass or skipped-with-reason records; every
    named strategy passed at least one scenario, except those in
    cannot_run_here, which must be skipped with a reason and never pass.
    Returns passes per capability."""
    ds = catalog.load().get(datastore)
    by_capability: dict[str, list[dict]] = {}
    for s in run["scenarios"]:
        by_capability.setdefault(s["capability"], []).append(s)
        assert s["status"] in ("pass", "skipped"), s
        if s["status"] == "skipped":
            assert s["reason"], f"{s['id']} skipped without a reason"
    for capability in ds.capabilities:
        assert capability in by_capability, f"claimed {capability} has no record"
    assert set(run["not_claimed"]).isdisjoint(ds.capabilities)
    passed: dict[str, set[str]] = {}
    for s in run["scenarios"]:
        if s["status"] == "pass":
            passed.setdefault(s["capability"], set()).add(s.get("strategy") or s["id"])
    for strategy in ds.strategies:
        if strategy.name in cannot_run_here:
            records = [s for s in run["scenarios"] if s.get("strategy") == strategy.name]
            assert records and all(s["status"] == "skipped" and s["reason"]
                                   for s in records), records
            continue
        assert strategy.name in passed.get(strategy.capability, set()), \
            f"strategy {strategy.name} passed no scenario"
    return passed
