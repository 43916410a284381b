"""A failed create through the box keeps the datastore's own word on why."""

from __future__ import annotations

from types import SimpleNamespace

from verify.backends.base import Instance
from verify.backends.trove_salvage import datastore_errors, salvage
from verify.errors import EngineError
from verify.state import Ledger

INST = Instance(id="i-1", name="n", datastore="mysql", version="9.7", flavor=None,
                volume_gb=1, guest="trove")
MYSQLD = ("2026-11-30T03:23:47Z 1 [System] [MY-013577] [InnoDB] InnoDB initialization has ended.\n"
          "2026-11-30T03:23:58Z 0 [ERROR] [MY-000067] [Server] unknown variable "
          "'innodb_log_files_in_group=2'.\n")


def test_the_first_error_lines_of_container_logs_only(tmp_path):
    (tmp_path / "container-database.log").write_text(MYSQLD)
    (tmp_path / "trove-guestagent.log").write_text("x ERROR: not the datastore's\n")
    assert datastore_errors(sorted(tmp_path.iterdir())) == [MYSQLD.splitlines()[1]]


def test_salvage_keeps_the_logs_and_names_the_datastores_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path / "work"))
    ledger = Ledger("salvage-test")

    def collect_logs(inst, dest):
        log = dest / "i-1-box-container-database.log"
        log.write_text(MYSQLD)
        return [log]
    backend = SimpleNamespace(ledger=ledger, collect_logs=collect_logs)
    exc = EngineError("Trove instance i-1 went ERROR during create: Failed to start mysql\n"
                      "guest agent log (last lines):\n... DEBUG noise")
    try:
        salvage(backend, INST, exc)
        assert [p.name for p in exc.salvaged_logs] == ["i-1-box-container-database.log"]
        last = str(exc).splitlines()[-1]
        assert last.startswith("Trove instance i-1 went ERROR during create: Failed to start")
        assert "unknown variable 'innodb_log_files_in_group=2'" in last
    finally:
        ledger.teardown()


def test_no_ledger_no_salvage():
    exc = EngineError("x")
    salvage(SimpleNamespace(ledger=None), INST, exc)
    assert not hasattr(exc, "salvaged_logs") and str(exc) == "x"


def test_an_error_without_a_fault_says_what_the_task_manager_logged_since(tmp_path):
    """Trove records no fault when an eject fails (the error stays in the
    task manager's log): the failure then quotes the box's task manager."""
    import time

    from verify.backends.trove_salvage import errors_since, failure_text
    log = tmp_path / "trove-taskmanager.log"
    log.write_text(
        "2026-11-30 10:33:40.221 30194 ERROR trove.guestagent.api [None req-1 a b - - - -] "
        "Error calling get_last_txn: TypeError: old\n"
        "2026-11-30 10:44:26.432 30194 ERROR trove.guestagent.api [None req-2 a b - - - -] "
        "Error calling get_last_txn: TypeError: tuple indices must be integers or slices, "
        "not str\n"
        "2026-11-30 10:44:26.432 30194 ERROR trove.guestagent.api TypeError: traceback line\n")
    since = time.mktime(time.strptime("2026-11-30 10:44:00", "%Y-%m-%d %H:%M:%S"))
    assert errors_since(log, since) == [
        "Error calling get_last_txn: TypeError: tuple indices must be integers or slices, "
        "not str"]
    backend = SimpleNamespace(box={"logs": str(tmp_path)}, guest_log=lambda *a, **k: "")
    text = failure_text(backend, INST, {"status": "ERROR"}, "eject", since=since)
    assert text.startswith("Trove instance i-1 went ERROR during eject: no fault recorded; "
                           "meanwhile the task manager logged: Error calling get_last_txn")
    with_fault = failure_text(backend, INST, {"status": "ERROR", "fault": {"message": "boom"}},
                              "eject", since=since)
    assert "meanwhile" not in with_fault
