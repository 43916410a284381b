"""Property 2, evidence never lies: a writer killed at random points while
writing a bundle never leaves a pass behind; whatever loads is either
`incomplete` or complete down to its last log; a bundle that fails its
digest or schema is reported and ignored by classify."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO
from verify import catalog, policy
from verify.classify import classify
from verify.evidence import scan

KILLS = int(os.environ.get("TROVE_VERIFY_TORN_KILLS", "25"))

# writes one bundle the way the runner does: start (incomplete), logs,
# junit, subunit, then finish(pass) last
WRITER = r"""
import sys
from pathlib import Path
from verify.evidence import Bundle
results, run_id = Path(sys.argv[1]), sys.argv[2]
print("STARTED", flush=True)
b = Bundle.start(results, {"run_id": run_id, "harness_version": "t", "backend": "local",
    "guest": "process", "datastore": "mariadb", "version": "10.11",
    "provenance": {"kind": "local", "job": None, "voting": None}})
scratch = results.parent / f"scratch-{run_id}"
scratch.mkdir(exist_ok=True)
logs = []
for i in range(4):
    src = scratch / f"l{i}.log"
    src.write_bytes(bytes([65 + i]) * (3 << 20))
    logs.append(b.add_log(src, f"s/l{i}.log"))
b.write_file("junit.xml", b"<testsuite/>" * 50000)
b.write_file("subunit.stream", b"\x00" * (2 << 20))
engine = {"name": "mariadb", "version": "10.11.6", "distribution": "x"}
b.finish("pass", engine=engine, scenarios=[{"id": "instance.create_delete",
    "capability": "instance", "strategy": None, "status": "pass", "duration_s": 1.0,
    "reason": None, "logs": logs, "version": "10.11", "engine": engine}])
print("FINISHED", flush=True)
"""


def _write(results, run_id):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(results), run_id], cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=str(REPO)),
                            stdout=subprocess.PIPE, text=True)


def _complete(bundle_dir, record) -> bool:
    want = hashlib.sha256(b"A" * (3 << 20)).hexdigest()
    if not record["scenarios"]:
        return False  # a pass that names no scenario was written before the end
    for i, rel in enumerate(record["scenarios"][0]["logs"]):
        data = (bundle_dir / rel).read_bytes()
        if len(data) != 3 << 20 or (i == 0 and hashlib.sha256(data).hexdigest() != want):
            return False
    return ((bundle_dir / "junit.xml").stat().st_size == 12 * 50000
            and (bundle_dir / "subunit.stream").stat().st_size == 2 << 20)


def test_killed_writers_never_leave_a_pass(tmp_path):
    results = tmp_path / "results"
    rng = random.Random(os.environ.get("TROVE_VERIFY_KILL_SEED"))
    proc = _write(results, "undisturbed")
    assert proc.stdout.readline().strip() == "STARTED"
    t0 = time.monotonic()
    assert proc.communicate(timeout=120)[0].strip() == "FINISHED"
    duration = time.monotonic() - t0  # of the writing alone, imports excluded
    finished = {"undisturbed"}
    for i in range(KILLS):
        proc = _write(results, f"killed-{i:03d}")
        assert proc.stdout.readline().strip() == "STARTED"
        time.sleep(rng.uniform(0, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        if "FINISHED" in out:
            finished.add(f"killed-{i:03d}")

    valid, rejected = scan(results)
    by_status = {}
    for record in valid:
        by_status.setdefault(record["status"], []).append(record["run_id"])
        if record["status"] == "pass":
            assert _complete(results / record["run_id"], record), record["run_id"]
        else:
            assert record["status"] == "incomplete" and record["finished"] is None
            assert record["run_id"] not in finished
    # a bundle without run.json (killed between mkdir and the first write)
    assert all("no run.json" in r.reason for r in rejected), [r.reason for r in rejected]
    assert set(by_status.get("pass", [])) >= finished
    print(f"\n{KILLS} writers killed: {len(by_status.get('incomplete', []))} incomplete, "
          f"{len(by_status.get('pass', [])) - 1} finished before the kill, "
          f"{len(rejected)} without run.json; no torn pass")
    assert by_status.get("incomplete"), "no kill landed mid-write: the test proved nothing"

    verdicts = {v.subject: v for v in classify(valid, catalog.default(), policy.default())}
    assert verdicts["mariadb"].runs_counted == len(by_status["pass"])
    assert verdicts["mariadb"].runs_ignored == len(by_status["incomplete"])


def test_edited_or_forged_bundles_are_reported_and_ignored(tmp_path):
    results = tmp_path / "results"
    for run_id in ("forged", "flipped", "schema"):
        proc = _write(results, run_id)
        assert proc.communicate(timeout=120)[0].split() == ["STARTED", "FINISHED"]
    # forged: an incomplete run rewritten as pass without the digest
    forged = json.loads((results / "forged/run.json").read_text())
    forged["status"], forged["finished"] = "pass", None
    (results / "forged/run.json").write_text(json.dumps(forged))
    # flipped: one byte of the digest-covered body changed
    raw = bytearray((results / "flipped/run.json").read_bytes())
    at = raw.index(b'"10.11"') + 2
    raw[at] = ord("2")
    (results / "flipped/run.json").write_bytes(bytes(raw))
    # schema: a status the schema does not know, digest recomputed
    from verify.evidence.bundle import digest
    bad = json.loads((results / "schema/run.json").read_text())
    bad["status"] = "passed"
    bad["digest"] = digest(bad)
    (results / "schema/run.json").write_text(json.dumps(bad))

    valid, rejected = scan(results)
    assert valid == [] and len(rejected) == 3
    reasons = " ".join(r.reason for r in rejected)
    assert "digest" in reasons and "status" in reasons
    verdict = {v.subject: v for v in classify(valid, catalog.default(), policy.default())}
    assert verdict["mariadb"].runs_counted == 0 and verdict["mariadb"].tier in (
        "unknown", "none")
