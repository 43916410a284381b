"""Trove in a box, end to end: `box up`, the mariadb experimental tier through
the real Trove 26 (Keystone, RabbitMQ, trove-api/taskmanager/conductor, the
emulated Nova/Neutron/Glance, namespace guests running trove-guestagent),
then `box down` leaves nothing behind.

Needs root, docker.io, rabbitmq-server, the Trove virtualenv and the cached
Trove guest and mariadb images (tools/ci-images.sh); skips naming what is
missing otherwise.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import cli
from verify.errors import EXIT_CONFIG

DS = "mariadb"
OBJECT_STORAGE = ("backup", "replication", "guest log", "object storage", "swift")


def test_box_runs_the_mariadb_experimental_tier(box):
    root, env = box
    again = cli("box", "up", env=env, timeout=120)         # warm: reuses the box
    assert again.returncode == 0 and "reusing" in again.stdout, again.stdout + again.stderr
    status = json.loads(cli("box", "status", "--json", env=env).stdout)
    assert status["state"] == "up" and status["trove"]["version"] == "26.0.0"
    clouds = Path(status["clouds_yaml"])
    assert clouds.stat().st_mode & 0o777 == 0o600
    # secrets at rest: another local user reads nothing of the box (Keystone's
    # database, Trove's logs with its RPC keys, RabbitMQ's and Trove's configs)
    seen = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           "find", str(clouds.parent), "-readable", "-type", "f"],
                          capture_output=True, text=True, timeout=60)
    assert seen.stdout.strip() == "", f"readable by nobody:\n{seen.stdout}"

    run = cli("run", DS, "--tier", "experimental", env=env, timeout=3600)
    assert "backend: trove (the box)" in run.stdout, run.stdout
    records = sorted((root / "results").rglob("run.json"))
    assert records, run.stdout + run.stderr
    record = json.loads(records[-1].read_text())
    assert record["backend"] == "trove"
    assert record["backend_choice"]["backend"] == "trove" and record["backend_choice"]["default"]
    prov = record["provenance"]
    assert prov["kind"] == "trove" and prov["deployment"] == "box"
    assert prov["trove"]["version"] == "26.0.0"
    assert len(prov["guest_image"]["sha256"]) == 64
    version = record["version"]
    container = prov["datastore_versions"][version]["container_image"]
    assert container["name"] == f"mariadb:{version}" and len(container["sha256"]) == 64
    reported = prov["engine_reported_at"][version]
    assert reported["engine"]["name"] == "mariadb"
    assert reported["engine"]["version"].startswith(version)
    assert record["engine"]["name"] == "mariadb"
    for scenario in record["scenarios"]:
        if scenario["status"] == "skipped":
            assert any(w in (scenario["reason"] or "").lower() for w in OBJECT_STORAGE) \
                or "not implemented by Trove" in (scenario["reason"] or ""), scenario
        else:
            assert scenario["status"] == "pass", scenario
    assert record["status"] == "pass"
    # no secret of the box reaches the results
    secret = clouds.read_text().split("password: ", 1)[1].split()[0]
    for path in (root / "results").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_an_unknown_cloud_is_one_config_error_line(box):
    _root, env = box
    proc = cli("run", DS, "--backend", "trove", "--cloud", "no-such-cloud", env=env)
    assert proc.returncode == EXIT_CONFIG
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-cloud" in lines[0], proc.stderr


def test_a_datastore_trove_has_no_agent_for_is_not_registered(box):
    _root, env = box
    proc = cli("run", "redis", "--backend", "trove", "--cloud", "trove-box", env=env)
    assert proc.returncode == EXIT_CONFIG
    assert "not registered" in proc.stderr and "Traceback" not in proc.stderr


def test_register_playbook_runs_trove_manage_under_ansible_runner(box, tmp_path):
    """playbooks/register_datastore.yml through ansible-runner on localhost,
    against the box's own trove-manage and database."""
    root, env = box
    from verify.box.trove_install import default_venv
    status = json.loads(cli("box", "status", "--json", env=env).stdout)
    conf = Path(env["TROVE_VERIFY_WORKDIR"]) / "box" / "run" / "trove" / "trove.conf"
    rules = next((default_venv() / "lib").glob(
        "python3*/site-packages/trove/templates/mariadb/validation-rules.json"))
    log = tmp_path / "register.log"
    proc = cli("register", "mariadb", "--version", "10.99", "--image-id",
               status["guest_image"]["id"], "--trove-conf", str(conf),
               "--trove-manage", str(default_venv() / "bin" / "trove-manage"),
               "--config-rules", str(rules), "--log", str(log), env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "registered mariadb 10.99" in proc.stdout
    db_password = conf.read_text().split("mysql+pymysql://trove:", 1)[1].split("@", 1)[0]
    assert "ok=" in log.read_text() and db_password not in log.read_text()
