"""The trove backend against the real Trove 26 API and task manager.

Keystone (real, SQLite) issues the tokens and holds the catalog, Trove keeps
its state in a private MariaDB, and Trove's own fake compute/guest stand in
for nova and the guest agent (tests/integration/trove_fake/). Everything
binds 127.0.0.1 on free ports and is stopped at the end. Evidence from here
is `trove-fake-compute` and never classifies.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.conftest import cli, need
from verify import catalog as catalog_mod
from verify.engines.base import free_port
from verify.errors import EXIT_CONFIG, ConfigError
from verify.settings import Timeouts

from .trove_fake import stack as stack_mod
from .trove_fake.backend import FakeComputeTroveBackend

CLOUD = "trove-fake"
SHORT = Timeouts(trove_create=120, trove_action=60)
ENV_SHORT = {"TROVE_VERIFY_TIMEOUT_TROVE_CREATE": "120",
             "TROVE_VERIFY_TIMEOUT_TROVE_ACTION": "60"}


@pytest.fixture(scope="module")
def stack():
    missing = stack_mod.trove_venv_missing()
    if missing:
        pytest.skip(missing)
    need("mariadbd")
    root = Path(tempfile.mkdtemp(prefix="tv-trove-", dir="/tmp"))
    root.chmod(0o755)       # the service user running MariaDB traverses it
    saved = os.environ.get("TROVE_VERIFY_WORKDIR")
    os.environ["TROVE_VERIFY_WORKDIR"] = str(root / "work")
    try:
        s = stack_mod.start(root, {"mariadb": ["10.11"]})
        s.clouds = s.clouds_yaml(root / "clouds.yaml", CLOUD)
        os.environ["OS_CLIENT_CONFIG_FILE"] = str(s.clouds)
        yield s
        s.stop()
        left = [p.pid for p in s.procs if p.poll() is None]
        assert left == [], f"stack processes still running: {left}"
    finally:
        os.environ.pop("OS_CLIENT_CONFIG_FILE", None)
        if saved is None:
            os.environ.pop("TROVE_VERIFY_WORKDIR", None)
        else:
            os.environ["TROVE_VERIFY_WORKDIR"] = saved
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def backend(stack):
    b = FakeComputeTroveBackend(catalog_mod.default(), cloud=CLOUD, timeouts=SHORT,
                                poll_interval=0.5, standin=stack.db)
    yield b
    b.close()


def test_trove_verbs_through_troveclient(backend, tmp_path):
    cat = catalog_mod.default()
    assert backend.unavailable(cat.get("mariadb"), "10.11") is None
    inst = backend.create_instance("mariadb", "10.11", name="verbs")
    assert inst.status in ("ACTIVE", "HEALTHY") and inst.port == 3306
    assert inst.id in backend.list_instances()
    assert backend.get_instance(inst)["datastore"]["version"] == "10.11"

    backend.create_database(inst, "verify_db")
    assert "verify_db" in backend.list_databases(inst)
    backend.create_user(inst, "verify_u", "pw-0123456789", ["verify_db"])
    assert "verify_u" in backend.list_users(inst)
    backend.delete_user(inst, "verify_u")
    assert "verify_u" not in backend.list_users(inst)
    backend.delete_database(inst, "verify_db")
    assert "verify_db" not in backend.list_databases(inst)

    root = backend.enable_root(inst)
    assert root.user == "root" and root.password
    assert backend.root_enabled(inst)

    assert "max_connections" in backend.list_configuration_parameters("mariadb", "10.11")
    conf = backend.create_configuration("mariadb", "10.11", {"max_connections": 200})
    assert conf.values == {"max_connections": 200}
    backend.attach_configuration(inst, conf)
    assert inst.configuration == conf.id
    backend.detach_configuration(inst)
    backend.delete_configuration(conf)

    backup = backend.create_backup(inst, "mariabackup")
    assert backup.id in backend.list_backups(inst) and backup.instance_id == inst.id

    replica = backend.create_replica(inst, "mariadb_gtid", name="verify-replica")
    assert replica.replica_of == inst.id and replica.id in inst.replicas

    logs = backend.collect_logs(inst, tmp_path / "logs")
    record = json.loads(logs[0].read_text())
    assert record["id"] == inst.id

    for done in (replica, inst):
        backend.delete_instance(done)
        assert backend.leftovers(done) == []
    assert inst.id not in backend.list_instances()


def test_scenarios_run_through_trove_and_never_count(stack, monkeypatch, tmp_path):
    from verify import runner
    from verify.classify import UNCOUNTED_PROVENANCE

    def make(options, catalog, ledger, timeouts):
        b = FakeComputeTroveBackend(catalog, cloud=CLOUD, timeouts=SHORT, poll_interval=0.5,
                                    standin=stack.db)
        options.provenance = b.provenance
        return b
    monkeypatch.setattr(runner, "make_backend", make)
    record = runner.execute(runner.RunOptions(datastore="mariadb", tier="experimental",
                                              backend="trove", results=tmp_path / "results",
                                              workers=1), say=lambda _line: None)
    assert record["status"] == "pass", record["scenarios"]
    prov = record["provenance"]
    assert prov["kind"] == "trove-fake-compute" and prov["kind"] in UNCOUNTED_PROVENANCE
    assert prov["cloud"] == CLOUD and prov["region"] == "RegionOne"
    assert prov["trove_api_version"] == "1.0"
    assert prov["datastore_versions"]["10.11"]["image_id"] == stack_mod.IMAGE_ID
    assert record["backend"] == "trove" and record["engine"]["name"] == "mariadb"


def _trove_cli(stack, *args, env=None):
    full = {**ENV_SHORT, "OS_CLIENT_CONFIG_FILE": str(stack.clouds), **(env or {})}
    return cli("run", *args, env=full, timeout=300)


def _one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_missing_cloud_entry_is_a_config_error(stack):
    proc = _trove_cli(stack, "mariadb", "--backend", "trove", "--cloud", "no-such-cloud")
    assert proc.returncode == EXIT_CONFIG
    assert "no-such-cloud" in _one_line(proc)


def test_unreachable_endpoint_is_a_config_error(stack, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(stack.clouds.read_text().replace(
        stack.auth_url, f"http://127.0.0.1:{free_port()}/v3"))
    proc = _trove_cli(stack, "mariadb", "--backend", "trove", "--cloud", CLOUD,
                      env={"OS_CLIENT_CONFIG_FILE": str(clouds)})
    assert proc.returncode == EXIT_CONFIG
    assert "unreachable" in _one_line(proc)


def test_unregistered_datastore_is_a_config_error(stack):
    proc = _trove_cli(stack, "postgresql", "--backend", "trove", "--cloud", CLOUD)
    assert proc.returncode == EXIT_CONFIG
    assert "not registered" in _one_line(proc)


def test_too_small_flavor_is_a_config_error_and_leaves_nothing(stack, backend):
    before = set(backend.list_instances())
    proc = _trove_cli(stack, "mariadb", "--backend", "trove", "--cloud", CLOUD,
                      "--tier", "experimental",
                      env={"TROVE_VERIFY_TROVE_FLAVOR_SMALL": "m1.nano"})
    assert proc.returncode == EXIT_CONFIG, proc.stdout + proc.stderr
    assert "too small" in proc.stderr
    assert set(backend.list_instances()) == before
    with pytest.raises(ConfigError):
        FakeComputeTroveBackend(catalog_mod.default(), cloud=CLOUD, timeouts=SHORT,
                                standin=stack.db, flavor_map={"small": "m1.nano"}
                                ).flavor_for("small")



def test_register_playbook_runs_trove_manage_under_ansible_runner(stack, backend, tmp_path):
    """playbooks/register_datastore.yml through ansible-runner on localhost,
    against this Trove's own trove-manage and database."""
    rules = next((stack_mod.TROVE_VENV / "lib").glob(
        "python3*/site-packages/trove/templates/mariadb/validation-rules.json"))
    log = tmp_path / "register.log"
    proc = cli("register", "mariadb", "--version", "10.99", "--image-id", stack_mod.IMAGE_ID,
               "--trove-conf", str(stack.root / "trove" / "trove.conf"),
               "--trove-manage", str(stack_mod.TROVE_VENV / "bin" / "trove-manage"),
               "--config-rules", str(rules), "--log", str(log), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "registered mariadb 10.99" in proc.stdout
    ds = backend.trove.datastores.get("mariadb")
    versions = {v.name for v in backend.trove.datastore_versions.list(ds.id)}
    assert {"10.11", "10.99"} <= versions
    params = backend.list_configuration_parameters("mariadb", "10.99")
    assert "max_connections" in params
    text = log.read_text()
    assert "ok=" in text and stack.db_password not in text
    assert not list(Path(tempfile.gettempdir()).glob("tv-ansible-*/artifacts/*/command"))


def test_error_state_fails_fast_with_the_fault_and_leaves_nothing(backend):
    # Trove's fake nova fails a server whose name ends in SERVER_ERROR
    from verify.errors import EngineError
    before = set(backend.list_instances())
    with pytest.raises(EngineError) as failure:
        backend.create_instance("mariadb", "10.11", name="faultSERVER_ERROR")
    message = str(failure.value)
    assert "went ERROR during create" in message
    assert "Fake server create error" in message
    assert set(backend.list_instances()) == before
