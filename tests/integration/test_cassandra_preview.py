"""Cassandra 5.0 for real: the technical-preview suite from the jars
tools/setup.d/cassandra.sh fetched (3-node cluster, grow, shrink, nodetool
snapshot restored into a new instance), on namespace guests booted from the
debian-cassandra image (the default, what `tox -e verify-cassandra` runs).
Process guests run the same suite code; their Cassandra start is
test_cassandra_node's (the whole suite twice cost CI about 4 minutes)."""


import pytest

from tests.conftest import cli
from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    run_preview,
    workdir,
)
from verify.engines.cassandra import runtime as cassandra_runtime
from verify.guests import namespace


def _need_cassandra() -> None:
    lib = cassandra_runtime.host_lib_dir()
    if cassandra_runtime.cassandra_jar(lib) is None:
        pytest.skip(f"no Cassandra jars in {lib}: run tools/setup.sh")


def test_cassandra_technical_preview_suite_for_real(results, workdir):  # noqa: F811
    _need_cassandra()
    if namespace.unavailable():
        pytest.skip(f"namespace guests cannot run here: {namespace.unavailable()}")
    run = run_preview("cassandra", results, workdir, "--guest", "namespace")
    assert run["guest"] == "namespace"
    assert run["engine"]["name"] == "cassandra"
    assert run["engine"]["version"].startswith("5.0.")
    assert run["image"]["name"] == "debian-bookworm-cassandra"
    passed = assert_every_claim_covered(run, "cassandra")
    ids = {s["id"] for s in run["scenarios"] if s["status"] == "pass"}
    for must in ("cluster.create_grow_shrink", "backup.restore", "users.access",
                 "root.enable_disable", "configuration.attach_detach", "guest_logs.publish",
                 "instance.resize_flavor"):
        assert must in ids, must
    assert "cassandra_cluster" in passed["cluster"]
    assert "nodetool_snapshot" in passed["backup"]


def test_without_jars_the_run_says_how_to_get_them_and_exits_2(results, tmp_path):
    proc = cli("run", "cassandra", "--guest", "process",
               env={"TROVE_VERIFY_CASSANDRA_LIB": str(tmp_path / "no-jars")})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no Cassandra jars found" in proc.stderr and "tools/setup.sh" in proc.stderr
    assert "Traceback" not in proc.stderr
