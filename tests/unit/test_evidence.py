import json
import os
import signal
import subprocess
import sys
import textwrap

from tests.conftest import REPO
from tests.unit.evidence_factory import write_run
from verify.evidence import load_bundle, scan
from verify.evidence.junit import junit_xml
from verify.redact import register


def test_finished_bundle_validates(tmp_path):
    bundle = write_run(tmp_path)
    record = load_bundle(bundle.root)
    assert record["status"] == "pass"
    assert record["digest"].startswith("sha256:")


def test_edited_bundle_is_rejected(tmp_path):
    bundle = write_run(tmp_path)
    path = bundle.root / "run.json"
    data = json.loads(path.read_text())
    data["status"] = "pass"
    data["scenarios"][0]["status"] = "pass"
    data["datastore"] = "mysql"
    path.write_text(json.dumps(data))
    valid, rejected = scan(tmp_path)
    assert valid == [] and "digest" in rejected[0].reason


def test_torn_and_garbage_bundles_are_rejected(tmp_path):
    bundle = write_run(tmp_path)
    text = (bundle.root / "run.json").read_text()
    (bundle.root / "run.json").write_text(text[: len(text) // 2])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "run.json").write_text('{"status": "pass"}')
    valid, rejected = scan(tmp_path)
    assert valid == [] and len(rejected) == 2


def test_no_temporary_files_left(tmp_path):
    bundle = write_run(tmp_path)
    assert not [p for p in bundle.root.rglob(".*tmp*")]


def test_secrets_never_reach_the_bundle(tmp_path):
    secret = register("s3cr3t-Canary-Value")
    bundle = write_run(tmp_path)
    bundle.record["note"] = f"password was {secret} mysql://u:{secret}@h/db"
    bundle.save()
    log = tmp_path / "server.log"
    log.write_text(f"IDENTIFIED BY '{secret}'")
    bundle.add_log(log, "server.log")
    for path in bundle.root.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    load_bundle(bundle.root)  # still valid after redaction


def test_killed_writer_leaves_incomplete_never_pass(tmp_path):
    # a writer that starts a run and is killed mid-way, as SIGKILL would
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.unit.evidence_factory import write_run
        from pathlib import Path
        b = write_run(Path({str(tmp_path)!r}), finish=False)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO)
    assert proc.returncode == -signal.SIGKILL
    valid, rejected = scan(tmp_path)
    assert [r["status"] for r in valid] == ["incomplete"]


def test_junit_counts():
    recs = [{"id": "a", "capability": "x", "status": "pass", "duration_s": 1, "reason": None},
            {"id": "b", "capability": "x", "status": "fail", "duration_s": 1, "reason": "no"},
            {"id": "c", "capability": "x", "status": "skipped", "duration_s": 0,
             "reason": "why"}]
    xml = junit_xml("s", recs).decode()
    assert 'tests="3"' in xml and 'failures="1"' in xml and 'skipped="1"' in xml


def test_state_dir_permissions(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path / "w"))
    from verify.state import Ledger
    ledger = Ledger("r1")
    assert oct(os.stat(ledger.dir).st_mode & 0o777) == oct(0o700)
    ledger.teardown()


def test_redact_masks_a_secret_logged_as_a_mapping_item():
    """Trove's guest agent logs the datastore container's environment, with
    the superuser password the agent made (never registered with us)."""
    from verify import redact
    line = ("Creating docker container, image: postgres:15, environment: "
            "{'POSTGRES_PASSWORD': 'qL5pzIJlAH5QXLz', 'PGDATA': '/var/lib/postgresql/data'}")
    out = redact.redact(line)
    assert "qL5pzIJlAH5QXLz" not in out
    assert "'POSTGRES_PASSWORD': '***'" in out and "'PGDATA': '/var/lib/postgresql/data'" in out
    assert redact.redact("Creating user u WITH PASSWORD '<SANITIZED>'") == \
        "Creating user u WITH PASSWORD '<SANITIZED>'"
