"""Cassandra 5.0 for real: the technical-preview suite on local guests, from
the jars tools/setup.d/cassandra.sh fetched (3-node cluster, grow, shrink,
nodetool snapshot restored into a new instance)."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import cli
from verify.engines import cassandra_runtime

EXPECTED = {"instance", "databases", "users", "root", "configuration", "backup", "cluster",
            "guest_logs"}


def _need_cassandra() -> None:
    lib = cassandra_runtime.host_lib_dir()
    if cassandra_runtime.cassandra_jar(lib) is None:
        pytest.skip(f"no Cassandra jars in {lib}: run tools/setup.sh")
    try:
        cassandra_runtime.locate(Path)
    except Exception as exc:  # the message names what is missing
        pytest.skip(str(exc))


def _our_jvms(workdir: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines()
            if "CassandraDaemon" in line and str(workdir) in line]


@pytest.fixture
def workdir():
    # the service user must traverse it (pytest's tmp_path is private to root)
    path = Path(tempfile.mkdtemp(prefix="tv-cass-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_cassandra_technical_preview_suite_for_real(results, workdir):
    _need_cassandra()
    proc = cli("run", "cassandra", "--tier", "technical-preview", "--guest", "process",
               env={"TROVE_VERIFY_WORKDIR": str(workdir / "work")}, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass"
    assert run["engine"]["name"] == "cassandra"
    assert run["engine"]["version"].startswith("5.0.")

    scenarios = run["scenarios"]
    by_status: dict[str, set[str]] = {}
    for s in scenarios:
        assert s["status"] in ("pass", "skipped"), s
        if s["status"] == "skipped":
            assert s["reason"], f"{s['id']} skipped without a reason"
        by_status.setdefault(s["status"], set()).add(s["capability"])
    # every claimed capability ran and passed somewhere
    assert EXPECTED <= by_status["pass"], by_status
    passed = {s["id"] for s in scenarios if s["status"] == "pass"}
    for must in ("cluster.create_grow_shrink", "backup.restore", "users.access",
                 "root.enable_disable", "configuration.attach_detach", "guest_logs.publish"):
        assert must in passed, must
    strategies = {s.get("strategy") for s in scenarios if s["id"] in
                  ("cluster.create_grow_shrink", "backup.restore")}
    assert strategies == {"cassandra_cluster", "nodetool_snapshot"}

    # nothing left behind: no JVM of ours, no instance directory
    assert _our_jvms(workdir) == []
    instances = workdir / "work" / "instances"
    assert not instances.exists() or not list(instances.iterdir())


def test_without_jars_the_run_says_how_to_get_them_and_exits_2(results, tmp_path):
    proc = cli("run", "cassandra", "--guest", "process",
               env={"TROVE_VERIFY_CASSANDRA_LIB": str(tmp_path / "no-jars")})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no Cassandra jars found" in proc.stderr and "tools/setup.sh" in proc.stderr
    assert "Traceback" not in proc.stderr
