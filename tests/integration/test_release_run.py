"""release CYCLE --run on a tiny matrix for real: Redis (both versions, at
the tier it claims) on process guests, beside a datastore that cannot run
here; then the record, the diff and the docs table."""

from __future__ import annotations

import json

from tests.conftest import cli, need
from tests.integration.preview import workdir  # noqa: F401  (fixture)


def test_release_run_runs_the_matrix_and_writes_record_diff_and_table(workdir):  # noqa: F811
    need("redis-server")
    results = workdir / "results"
    env = {"TROVE_VERIFY_WORKDIR": str(workdir / "w"), "TROVE_VERIFY_RESULTS": str(results)}
    done = cli("release", "2027.1", "--run", "--datastore", "redis", "--datastore", "percona",
               "--guest", "process", env=env, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "percona 5.7: not run — no engine for it on this machine" in done.stdout
    assert "speed-up" in done.stdout
    record = json.loads((results / "releases" / "2027.1.json").read_text())
    runs = {r["datastore"]: r for r in record["matrix"]["runs"]}
    assert runs["redis"]["status"] == "pass" and runs["redis"]["versions"] == ["7.0", "8.0"]
    assert runs["redis"]["tier"] == "technical-preview"
    bundle = json.loads((results / runs["redis"]["run_id"] / "run.json").read_text())
    assert bundle["versions"] == ["7.0", "8.0"] and bundle["tier"] == "technical-preview"
    assert runs["percona"]["status"] == "cannot-run"
    assert "redis" in record["verdicts"] and record["previous"] is None
    assert (results / "releases" / "2027.1.md").read_text().count("| redis |") >= 1
    assert "<table>" in (results / "releases" / "2027.1.html").read_text()
    # the next cycle diffs against this one
    later = cli("release", "2027.2", env=env)
    assert later.returncode == 0, later.stderr
    assert json.loads((results / "releases" / "2027.2.json").read_text())["previous"] == "2027.1"
