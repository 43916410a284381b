"""release CYCLE --run on a small real matrix: what is the release run's own
(the queue, the parallel bound, progress, the backend choice written into
the record, the record, the diff and the docs table), not the suites: those
are tested per datastore (test_redis_preview, test_postgresql_preview). One
version each of two cheap datastores on process guests, beside a datastore
that cannot run here."""

from __future__ import annotations

import json

from tests.conftest import cli, need
from tests.integration.preview import workdir  # noqa: F401  (fixture)


def test_release_run_runs_a_small_matrix_in_parallel_and_writes_record_diff_and_table(
        workdir):  # noqa: F811
    need("redis-server")
    need("postgres")
    results = workdir / "results"
    env = {"TROVE_VERIFY_WORKDIR": str(workdir / "w"), "TROVE_VERIFY_RESULTS": str(results)}
    done = cli("release", "2027.1", "--run", "--datastore", "redis:7.0",
               "--datastore", "postgresql:15", "--datastore", "percona",
               "--guest", "process", "--jobs", "2", env=env, timeout=900)
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "2 of 3 datastore(s) run here, 2 at a time" in out
    assert "percona 5.7: not run — no engine for it on this machine" in out
    assert "redis 7.0 at technical-preview: local — --guest process" in out
    assert "redis: started (local)" in out and "postgresql: started (local)" in out
    assert "speed-up" in out and "load average" in out

    path = results / "releases" / "2027.1.json"
    assert path.is_file(), out[-3000:] + done.stderr[-3000:]
    record = json.loads(path.read_text())
    matrix = record["matrix"]
    runs = {r["datastore"]: r for r in matrix["runs"]}
    assert matrix["parallel"] == 2 and matrix["load"]["mean"] >= 0
    # each suite's own health is its own test's (test_redis_preview, ...): here,
    # that each entry ran to a verdict with its bundle, and release exits 0
    # exactly when every entry that ran passed
    everything_passed = all(runs[ds]["status"] == "pass" for ds in ("redis", "postgresql"))
    assert done.returncode == (0 if everything_passed else 1), out[-3000:] + done.stderr[-3000:]
    for ds, version in (("redis", "7.0"), ("postgresql", "15")):
        r = runs[ds]
        assert r["status"] in ("pass", "fail"), r
        assert (r["versions"], r["backend"]) == ([version], "local")
        assert f"{ds} {version}: {r['status']} (" in out
        assert r["tier"] == "technical-preview" and r["scenarios"] > 0
        bundle = json.loads((results / r["run_id"] / "run.json").read_text())
        assert bundle["versions"] == [version] and bundle["tier"] == "technical-preview"
        assert bundle["guest"] == "process" and bundle["status"] == r["status"]
    assert runs["percona"]["status"] == "cannot-run"
    # both ran at once: the second started before the first had finished
    first, second = sorted((runs["redis"], runs["postgresql"]), key=lambda r: r["started_s"])
    assert second["started_s"] < first["started_s"] + first["wall_s"]
    assert matrix["sum_s"] > matrix["wall_s"]

    assert "redis" in record["verdicts"] and record["previous"] is None
    md = (results / "releases" / "2027.1.md").read_text()
    assert "| redis |" in md and "## Matrix run" in md
    page = (results / "releases" / "2027.1.html").read_text()
    assert "<table>" in page and "<h2>Matrix run</h2>" in page
    # the next cycle diffs against this one
    later = cli("release", "2027.2", env=env)
    assert later.returncode == 0, later.stderr
    assert json.loads((results / "releases" / "2027.2.json").read_text())["previous"] == "2027.1"
