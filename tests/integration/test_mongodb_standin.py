"""MongoDB without its mongod: `run mongodb` says so in one line and exits 2.
The stand-in: the engine's code path runs against SecantusDB, a
wire-compatible server from PyPI, and that evidence never classifies (the
real mongod's suite is test_mongodb_preview.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.conftest import cli

NO_MONGOD = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TROVE_VERIFY_MONGOD": "",
             "TROVE_VERIFY_MONGODB_STANDIN": ""}


@pytest.fixture
def workdir():
    path = Path(tempfile.mkdtemp(prefix="tv-it-", dir="/tmp"))
    path.chmod(0o755)
    return path / "work"


def _clean_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TROVE_VERIFY_MONGOD", "TROVE_VERIFY_MONGODB_STANDIN")}
    env.update({k: v for k, v in extra.items() if v})
    return env


def test_without_mongod_run_mongodb_says_why_in_one_line(results, workdir, monkeypatch):
    for key in ("TROVE_VERIFY_MONGOD", "TROVE_VERIFY_MONGODB_STANDIN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PATH", NO_MONGOD["PATH"])
    empty = workdir.parent / "no-mongod"
    empty.mkdir()
    proc = cli("run", "mongodb", "--guest", "process",
               env={"TROVE_VERIFY_WORKDIR": str(workdir),
                    "TROVE_VERIFY_MONGODB_ROOT": str(empty)})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    for needed in ("no mongod 6.0.5", "tools/setup.sh", "TROVE_VERIFY_MONGOD",
                   "--backend trove"):
        assert needed in lines[0]
    assert "Traceback" not in proc.stderr
    assert not results.exists() or not any(results.iterdir())


def test_stand_in_runs_the_code_path_and_never_classifies(results, workdir, monkeypatch):
    if importlib.util.find_spec("secantus") is None:
        pytest.skip("SecantusDB (the stand-in) is not installed: "
                    "pip install -r test-requirements.txt")
    monkeypatch.delenv("TROVE_VERIFY_MONGOD", raising=False)
    monkeypatch.setenv("TROVE_VERIFY_MONGODB_STANDIN", "secantusdb")
    from verify.engines.mongodb import server as mongodb
    reason = mongodb.host_unavailable()
    if reason:    # e.g. this checkout lives under a directory the service user cannot enter
        pytest.skip(reason)
    # one version: the stand-in is the same server whatever the version asked
    proc = cli("run", "mongodb", "--guest", "process", "--version", "6.0.5",
               env={"TROVE_VERIFY_WORKDIR": str(workdir)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["provenance"] == {"kind": "stand-in", "job": "secantusdb", "voting": False}
    assert run["engine"]["name"] == "secantusdb"
    assert "stand-in" in run["engine"]["distribution"]
    by_id = {s["id"]: s for s in run["scenarios"]}
    for real in ("instance.create_delete", "databases.create_list_delete",
                 "users.lifecycle", "users.access", "root.enable_disable"):
        assert by_id[real]["status"] == "pass", by_id[real]
    for s in run["scenarios"]:
        assert s["status"] in ("pass", "skipped"), s
        if s["status"] == "skipped":
            assert s["reason"], s

    proc = cli("classify", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    verdicts = {v["subject"]: v for v in json.loads(proc.stdout)["verdicts"]}
    assert verdicts["mongodb"]["tier"] == "unknown"
    assert verdicts["mongodb"]["runs_counted"] == 0
    assert verdicts["mongodb"]["runs_ignored"] == 1
    [note] = verdicts["mongodb"]["notes"]
    assert note.startswith("1 run(s) not counted (stand-in: ") and "secantusdb" in note, note


def test_a_private_virtualenv_is_staged_for_the_service_user(monkeypatch):
    """As in a checkout under a 0700 directory: the service user runs a staged
    copy of SecantusDB and its requirements, and it answers for real."""
    if importlib.util.find_spec("secantus") is None:
        pytest.skip("SecantusDB (the stand-in) is not installed: "
                    "pip install -r test-requirements.txt")
    from tests.integration.preview import started_on_process_guest
    from verify.engines.mongodb import server as mongodb
    from verify.engines.mongodb import standin as mongodb_standin

    monkeypatch.setenv("TROVE_VERIFY_MONGODB_STANDIN", "secantusdb")
    monkeypatch.setattr(mongodb_standin, "_world_usable", lambda path: False)
    if not mongodb_standin._python().exists():
        pytest.skip(f"{mongodb_standin._python()} does not exist on this host")
    with started_on_process_guest(
            "mongo-staged", lambda g: mongodb.SERVER(g, version="7.0")) as server:
        site = Path(server.launcher[1]["PYTHONPATH"])
        assert site.name.startswith("secantusdb-") and (site / "secantus").is_dir()
        assert (site / "pymongo").is_dir()          # its requirements came along
        assert server.identity().name == "secantusdb"
        with server.client() as c:
            c.create_database("staged")
        with server.client("staged") as c:
            c.write_items({"k": "v"})
            assert c.read_items() == {"k": "v"}
