"""trove-verify import: bundle directories and archives from gate logs."""

import io
import json
import tarfile

from tests.conftest import cli
from tests.unit.evidence_factory import write_run
from verify.errors import EXIT_DATA
from verify.evidence.index import load_history


def _gate_logs(tmp_path):
    """A gate job's log dir: two good bundles and one edited after writing."""
    logs = tmp_path / "logs" / "trove-verify-mariadb" / "results"
    gate = {"kind": "gate", "job": "trove-verify-mariadb", "voting": False, "cycle": "2026.1"}
    good = [write_run(logs, provenance=gate) for _ in range(2)]
    bad = write_run(logs, provenance=gate)
    run_json = bad.root / "run.json"
    run_json.write_text(run_json.read_text().replace('"pass"', '"fail"', 1))
    return logs, good, bad


def test_import_directory_takes_the_good_and_names_the_bad(tmp_path):
    logs, good, bad = _gate_logs(tmp_path)
    results = tmp_path / "results"
    proc = cli("import", str(logs), "--results", str(results))
    assert proc.returncode == EXIT_DATA, proc.stderr
    assert f"ignored {logs}:{bad.root.name}: run.json does not match its digest" in proc.stdout
    runs, rejected = load_history(results)
    assert sorted(r["run_id"] for r in runs) == sorted(g.record["run_id"] for g in good)
    assert not rejected, "a malformed bundle never lands in results/"
    again = cli("import", str(logs / good[0].root.name), "--results", str(results))
    assert again.returncode == 0 and "already imported" in again.stdout


def test_import_archive(tmp_path):
    logs, good, bad = _gate_logs(tmp_path)
    archive = tmp_path / "bundles.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(logs, arcname="results")
    results = tmp_path / "results"
    proc = cli("import", str(archive), "--results", str(results))
    assert proc.returncode == EXIT_DATA
    assert proc.stdout.count("imported ") == 2 and "ignored" in proc.stdout
    runs, _ = load_history(results)
    assert {r["_bundle"].split("/")[0] for r in runs} == {"imported"}


def test_import_refuses_unsafe_and_broken_archives(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        data = json.dumps({"run_id": "x"}).encode()
        info = tarfile.TarInfo("../../escaped/run.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    results = tmp_path / "results"
    proc = cli("import", str(evil), str(broken), "--results", str(results))
    assert proc.returncode == EXIT_DATA
    assert "unreadable archive" in proc.stdout
    assert not (tmp_path / "escaped").exists()
    missing = cli("import", str(tmp_path / "nope"), "--results", str(results))
    assert missing.returncode == EXIT_DATA and "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
