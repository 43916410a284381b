"""The walking skeleton for real: a private MariaDB from Debian packages."""

import json
import subprocess

from tests.conftest import cli, need
from tests.integration.preview import workdir  # noqa: F401  (fixture)


def _our_servers(results):
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "trove-verify/instances" in line]


def test_mariadb_experimental_run_records_real_evidence(results, workdir):  # noqa: F811
    need("mariadbd")
    proc = cli("run", "mariadb", "--tier", "experimental", "--backend", "local",
               "--guest", "process",
               env={"TROVE_VERIFY_WORKDIR": str(workdir / "work")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass"
    assert run["engine"]["name"] == "mariadb"
    assert run["engine"]["version"].startswith("10.11")
    assert run["backend"] == "local" and run["guest"] == "process"
    passed = [s for s in run["scenarios"] if s["status"] == "pass"]
    assert [s["id"] for s in passed] == ["instance.create_delete"]
    assert (bundle / "junit.xml").is_file() and (bundle / "subunit.stream").stat().st_size
    assert not list((workdir / "work" / "instances").iterdir())
    assert _our_servers(results) == []

    proc = cli("classify", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    verdicts = {v["subject"]: v for v in json.loads(proc.stdout)["verdicts"]}
    mariadb = verdicts["mariadb"]
    # engine evidence: shown beside the verdict, never meeting what speaks of
    # Trove's API ("create and delete through the Trove API")
    assert mariadb["runs_counted"] == 1
    assert mariadb["tier"] in ("unknown", "none")
    assert "ds-exp-create-delete" not in mariadb["met"]
    unmet = {u["id"]: u for u in mariadb["unmet"]}
    assert "ds-exp-create-delete" in unmet, "the next tier's needs must be named"
    assert any("10.11" in line for line in mariadb["engine_evidence"]), mariadb


def test_datastore_without_engine_says_why_and_exits_2(results):
    proc = cli("run", "vertica")
    assert proc.returncode == 2
    assert "cannot launch vertica here" in proc.stderr
    assert "Traceback" not in proc.stderr
