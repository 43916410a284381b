"""release --run's matrix: what runs here, how many at once, the HTML table,
and the Zuul job set that fans it out."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import cli
from verify import catalog, release_matrix
from verify.errors import UsageError
from verify.report import release


def test_parallel_bound_fits_cores_and_memory():
    assert release_matrix.parallel_bound(2, 24_000) == 2
    assert release_matrix.parallel_bound(8, 5_000) == 2      # memory binds first
    assert release_matrix.parallel_bound(4, 100) == 1        # never zero


def test_the_matrix_lists_every_datastore_and_says_which_cannot_run():
    runs = release_matrix.matrix(catalog.default())
    assert [r.datastore for r in runs] == [ds.name for ds in catalog.default()]
    by_name = {r.datastore: r for r in runs}
    assert by_name["percona"].status == "cannot-run" and by_name["percona"].reason
    assert by_name["mariadb"].status == "pending"
    assert by_name["mariadb"].versions == ["10.11", "11.8"]
    assert by_name["mariadb"].tier == catalog.default().get("mariadb").claimed_tier
    with pytest.raises(UsageError, match="unknown datastore 'nope'"):
        release_matrix.matrix(catalog.default(), ["nope"])


def test_the_html_table_escapes_and_links_the_evidence():
    record = {"cycle": "2027.1", "previous": None,
              "verdicts": {"redis": {"tier": "experimental", "standing": "classified",
                                     "eligible_tier": None, "evidence": ["r<1>"]}},
              "diff": {"promotions": [], "demotions": [], "retired": [],
                       "new": [{"subject": "redis", "tier": "experimental"}]}}
    page = release.html(record)
    assert "r&lt;1&gt;" in page and 'href="../r&lt;1&gt;/run.json"' in page
    assert "<li>new: redis (experimental)</li>" in page


def test_release_via_zuul_writes_the_fan_out_jobs(tmp_path):
    out = tmp_path / "fan.yaml"
    proc = cli("release", "2027.1", "--run", "--via", "zuul", "-o", str(out),
               "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(out.read_text())
    [template] = [i["project-template"] for i in config if "project-template" in i]
    assert template["name"] == "trove-verify-release-2027-1"
    runnable = [ds.name for ds in catalog.default() if ds.engine_module]
    assert template["periodic"]["jobs"] == [f"trove-verify-{n}" for n in runnable]
    jobs = {i["job"]["name"] for i in config if "job" in i}
    assert set(template["periodic"]["jobs"]) <= jobs
    from tests.unit.test_gate_zuul import _zuul_parses, _zuul_python

    parsed = _zuul_parses(_zuul_python(), out)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr


def test_run_options_without_run_are_refused(tmp_path):
    proc = cli("release", "2027.1", "--jobs", "2", "--results", str(tmp_path))
    assert proc.returncode == 64 and "go with --run" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_version_filter_picks_versions_and_refuses_unknown_ones():
    runs = release_matrix.matrix(catalog.default(), ["redis:7.0", "postgresql"])
    by_name = {r.datastore: r for r in runs}
    assert set(by_name) == {"redis", "postgresql"}
    assert by_name["redis"].versions == ["7.0"] and by_name["redis"].subset
    assert not by_name["postgresql"].subset
    assert by_name["postgresql"].versions == [v.name for v in
                                              catalog.default().get("postgresql").versions]
    assert release_matrix.run_command(by_name["redis"], ["--guest", "process"])[-6:] == \
        ["run", "redis", "--guest", "process", "--version", "7.0"]
    with pytest.raises(UsageError, match="datastore redis has no version '6.2'"):
        release_matrix.matrix(catalog.default(), ["redis:6.2"])


def test_each_entry_carries_the_backend_run_will_choose():
    chosen = {"mariadb": ("trove", "Trove has a mariadb guest-agent manager")}
    runs = release_matrix.matrix(catalog.default(), ["mariadb", "redis", "percona"],
                                 lambda ds: chosen.get(ds, ("local", "no manager")))
    by_name = {r.datastore: r for r in runs}
    assert (by_name["mariadb"].backend, by_name["redis"].backend) == ("trove", "local")
    assert by_name["percona"].backend is None      # cannot run: nothing to choose
    # the box is slower than local: its guess is larger, so it is queued first
    queue = release_matrix.order(runs)
    assert [r.datastore for r in queue][0] == "mariadb"


def test_the_queue_is_longest_first_from_the_last_measured_matrix():
    runs = release_matrix.matrix(catalog.default(), ["redis", "cassandra", "mongodb:6.0.5"])
    measured = release_matrix.measured_walls({"matrix": {"runs": [
        {"datastore": "redis", "versions": ["7.0", "8.0"], "status": "pass", "wall_s": 40},
        {"datastore": "cassandra", "versions": ["5.0"], "status": "fail", "wall_s": 240},
        {"datastore": "mongodb", "versions": ["6.0.5", "6.0.27"], "status": "pass",
         "wall_s": 100},
        {"datastore": "mysql", "versions": ["9.7"], "status": "timeout", "wall_s": 3600}]}})
    assert measured == {"redis": 20.0, "cassandra": 240.0, "mongodb": 50.0}
    queue = release_matrix.order(runs, measured)
    assert [(r.datastore, r.estimate_s) for r in queue] == \
        [("cassandra", 240.0), ("mongodb", 50.0), ("redis", 40.0)]


# A stand-in for `trove-verify run`: prints what run prints (the plan, a line
# per scenario, the verdict) and sleeps; the scheduler is what is under test.
_FAKE_RUN = """
import sys, time
ds, n, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
print(f"run r-{ds}: {ds} 1 at tier experimental ({n} scenarios, 0 skipped, backend local)",
      flush=True)
for i in range(n):
    time.sleep(pause)
    print(f"[{i + 1}/{n}] pass    s{i}", flush=True)
print(f"run r-{ds}: {'fail' if ds == 'c' else 'pass'} — bundle /tmp/r-{ds}", flush=True)
sys.exit(1 if ds == "c" else 0)
"""


def _fake_runs(pauses):
    return [release_matrix.MatrixRun(ds, ["1"], "experimental", estimate_s=p * 3)
            for ds, p in pauses.items()]


def test_the_scheduler_keeps_the_bound_runs_longest_first_and_reads_progress(tmp_path):
    import sys

    runs = release_matrix.order(_fake_runs({"a": 0.1, "b": 0.5, "c": 0.3, "d": 0.2}))
    changes, ticks, lines = [], [], []
    wall = release_matrix.execute(
        runs, results=tmp_path, logs=tmp_path / "logs", jobs=2, run_args=[],
        say=lines.append, on_change=lambda r: changes.append((r.datastore, r.status, r.done)),
        on_tick=ticks.append, tick_s=0.5,
        command=lambda r: [sys.executable, "-c", _FAKE_RUN, r.datastore, "3",
                           str(r.estimate_s / 3)])
    by_name = {r.datastore: r for r in runs}
    assert [r.datastore for r in runs] == ["b", "c", "d", "a"]
    # never more than two at once: every start is at or after an earlier end
    spans = sorted((r.started_s, r.started_s + r.wall_s) for r in runs)
    for i, (start, _) in enumerate(spans):
        assert sum(1 for s, e in spans[:i] if e > start + 0.05) <= 1
    # b and c started together; the short ones after
    assert by_name["b"].started_s < 0.5 and by_name["c"].started_s < 0.5
    assert wall < sum(r.wall_s for r in runs)
    assert {r.datastore: r.status for r in runs} == \
        {"a": "pass", "b": "pass", "c": "fail", "d": "pass"}
    assert by_name["b"].planned == 3 and by_name["b"].run_id == "r-b"
    assert by_name["b"].bundle == "/tmp/r-b"
    assert ("b", "running", 2) in changes            # progress seen while it ran
    assert ticks and all(t > 0 for t in ticks)
    assert any(line.startswith("c 1: fail") and "bundle /tmp/r-c" in line for line in lines)
    assert (tmp_path / "logs" / "b.log").read_text().count("pass    s") == 3


def test_a_run_that_prints_no_verdict_cannot_run_with_its_last_line(tmp_path):
    import sys

    runs = _fake_runs({"x": 0.1})
    release_matrix.execute(
        runs, results=tmp_path, logs=tmp_path / "logs", jobs=1, run_args=[], say=lambda _: None,
        command=lambda r: [sys.executable, "-c",
                           "import sys; print('cannot launch x here: no binary'); sys.exit(2)"])
    assert runs[0].status == "cannot-run" and runs[0].reason == "cannot launch x here: no binary"
    assert runs[0].exit_code == 2


def test_the_record_shows_the_matrix_with_backend_and_load_in_markdown_and_html():
    matrix = {"wall_s": 100.0, "sum_s": 180.0, "speedup": 1.8, "parallel": 2, "cores": 2,
              "box_up_s": 40.0, "load": {"start": 3.0, "end": 4.0, "mean": 5.5, "max": 9.0},
              "runs": [{"datastore": "mariadb", "versions": ["10.11"], "tier": "experimental",
                        "backend": "trove", "status": "pass", "reason": None, "wall_s": 120},
                       {"datastore": "redis", "versions": ["7.0"], "tier": "experimental",
                        "backend": "local", "status": "fail", "reason": "a<b", "wall_s": 60}]}
    record = {"cycle": "2027.1", "previous": None, "verdicts": {}, "matrix": matrix,
              "diff": {"promotions": [], "demotions": [], "retired": [], "new": []}}
    md = release.markdown(record)
    assert "(speed-up 1.80×); the box came up in 40 s before; load average 3.0" in md
    assert "| mariadb | 10.11 | experimental | trove (the box) | pass | 120 |" in md
    page = release.html(record)
    assert "<td>trove (the box)</td>" in page and "fail: a&lt;b" in page


def test_the_box_comes_up_once_for_the_entries_that_need_it_and_a_failure_is_theirs(monkeypatch):
    from verify.box import manage
    from verify.cli import release as release_cli
    from verify.errors import ConfigError

    calls = []
    monkeypatch.setattr(manage, "status", lambda: {"state": "down"})
    monkeypatch.setattr(manage, "up", lambda say: calls.append("up"))
    local = release_matrix.MatrixRun("redis", ["7.0"], "technical-preview", backend="local")
    box = release_matrix.MatrixRun("mariadb", ["10.11"], "technical-preview", backend="trove")
    assert release_cli._box_up([local], print) == (None, False) and calls == []
    seconds, started = release_cli._box_up([local, box], print)
    assert calls == ["up"] and started and seconds >= 0
    # already up: reused, and left up after
    monkeypatch.setattr(manage, "status", lambda: {"state": "up"})
    assert release_cli._box_up([box], print)[1] is False

    def refuse(say):
        raise ConfigError("the box needs root", where="box up")
    monkeypatch.setattr(manage, "up", refuse)
    assert release_cli._box_up([local, box], print) == (None, False)
    assert box.status == "cannot-run"
    assert box.reason == "the box did not come up: box up: the box needs root"
    assert local.status == "pending"


def test_a_stopped_matrix_still_writes_the_record_with_what_finished(tmp_path, monkeypatch):
    import argparse
    import json
    import signal

    from verify.box import client as box_client
    from verify.cli import release as release_cli
    from verify.runner import Interrupted

    def stopped_midway(runs, **_):
        runs[0].status, runs[0].wall_s, runs[0].run_id = "pass", 12.0, "r-1"
        runs[1].status, runs[1].wall_s = "stopped", 3.0
        raise Interrupted(signal.SIGINT)

    monkeypatch.setattr(release_matrix, "execute", stopped_midway)
    monkeypatch.setattr(box_client, "default_backend", lambda ds: ("local", "test"))
    monkeypatch.setattr("verify.runner.install_signal_handlers", lambda: None)
    args = argparse.Namespace(cycle="2027.1", run=True, via="local", jobs=1, guest=None,
                              datastores=["redis", "postgresql", "mongodb"], output=None,
                              results=tmp_path, catalog=None)
    assert release_cli.run(args) == 130
    record = json.loads((tmp_path / "releases" / "2027.1.json").read_text())
    assert record["matrix"]["interrupted"] == "SIGINT"
    statuses = sorted(r["status"] for r in record["matrix"]["runs"])
    assert statuses == ["not-started", "pass", "stopped"]
    assert "stopped by SIGINT" in (tmp_path / "releases" / "2027.1.md").read_text()
