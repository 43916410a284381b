"""Trove guests booted as the box boots them, driven by Trove's own guest API.

The box's RabbitMQ; one guest from the Trove guest image with the
guest_info.conf and trove-guestagent.conf Trove's task manager writes; then,
from the control plane's side (a subprocess in Trove's virtualenv),
trove.guestagent.api.API.rpc_ping and prepare (MariaDB 10.11, PostgreSQL 15)
with a database and a user. Trove's agent formats the volume, starts the
datastore's container from the box's image and secures it; the test then
logs in as that user at the guest's address, through the engine's own
client, and reads the version the server reports. stop() must leave
nothing: no process, mount, netns, veth, loop device, cgroup or directory.
Root only; it skips saying why when this machine cannot host the box.
"""

import json
import os
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.preview import workdir  # noqa: F401  (fixture)
from verify import redact
from verify.box import containers, rabbitmq
from verify.box.guest import DEVICE, TroveGuestSpec, boot
from verify.box.network import BoxAddress
from verify.errors import VerifyError
from verify.guests import nshost
from verify.settings import repo_root
from verify.state import Ledger

# datastore -> (version, image, mount point, registry ext, replication strategy, port)
DATASTORES = {
    "mariadb": ("10.11", "mariadb", "/var/lib/mysql",
                "trove.guestagent.datastore.mariadb.manager.Manager",
                "mariadb_gtid.MariaDBGTIDReplication", 3306),
    "postgresql": ("15", "postgres", "/var/lib/postgresql",
                   "trove.guestagent.datastore.postgres.manager.PostgresManager",
                   "postgresql.PostgresqlReplicationStreaming", 5432),
}
TROVE_PYTHON = Path(os.environ.get("TROVE_VERIFY_TROVE_VENV", repo_root() / ".venv-trove")) \
    / "bin" / "python"
CLIENT = Path(__file__).with_name("trove_guest_client.py")


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the box needs root"
    if not TROVE_PYTHON.exists():
        return f"Trove's virtualenv is missing ({TROVE_PYTHON}; run tools/setup.sh)"
    return rabbitmq.unavailable() or nshost.unavailable()


@pytest.fixture(scope="module")
def guest_image():
    reason = _unavailable()
    if reason:
        pytest.skip(f"a Trove guest cannot run here: {reason}")
    from verify.images import trove_guest

    try:
        image, _ = trove_guest.build(say=lambda _: None)
    except VerifyError as exc:   # cannot build here: say why instead of passing
        pytest.skip(f"the Trove guest image is unavailable: {exc}")
    return image


def _container(datastore: str) -> containers.ContainerImage:
    try:
        image, _ = containers.build(datastore, DATASTORES[datastore][0], say=lambda _: None)
    except VerifyError as exc:
        pytest.skip(f"the {datastore} container image is unavailable: {exc}")
    return image


def _trove(request: dict, timeout: float) -> dict:
    proc = subprocess.run([str(TROVE_PYTHON), str(CLIENT)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _conf_files(datastore: str, guest_id: str, tenant: str, key: str,
                url: str) -> dict[str, str]:
    # as Trove 26's task manager writes them (instance/models.py get_injected_files)
    version, repo, _, registry, strategy, _ = DATASTORES[datastore]
    guest_info = ("[DEFAULT]\n"
                  f"guest_id={guest_id}\n"
                  f"datastore_manager={datastore}\n"
                  f"datastore_version={version}\n"
                  f"tenant_id={tenant}\n"
                  f"datastore_registry_ext={datastore}:{registry}\n"
                  f"replication_strategy=trove.guestagent.strategies.replication.{strategy}\n"
                  "ssl_mode=None\n"
                  "network_isolation=False\n"
                  f"instance_rpc_encr_key={key}\n")
    agent_conf = ("[DEFAULT]\n"
                  f"transport_url = {url}\n"
                  "control_exchange = trove\n"
                  "log_dir = /var/log/trove/\n"
                  "log_file = logfile.txt\n"
                  "debug = True\n"
                  "state_change_wait_time = 300\n"
                  f"[{datastore}]\n"
                  f"docker_image = {repo}\n")
    return {"/etc/trove/conf.d/guest_info.conf": guest_info,
            "/etc/trove/conf.d/trove-guestagent.conf": agent_conf}


def _login(datastore: str, address: str, password: str, deadline: float) -> tuple:
    """(server version, current database) read as the prepared user, through
    the engine's own client at the guest's address; retried until deadline."""
    import psycopg
    import pymysql

    while True:
        try:
            if datastore == "mariadb":
                conn = pymysql.connect(host=address, port=3306, user="tvuser",
                                       password=password, database="tvdb", connect_timeout=3)
            else:
                conn = psycopg.connect(host=address, port=5432, user="tvuser",
                                       password=password, dbname="tvdb", connect_timeout=3)
            with conn, conn.cursor() as cur:
                cur.execute("SELECT VERSION(), DATABASE()" if datastore == "mariadb"
                            else "SELECT current_setting('server_version'), current_database()")
                return tuple(cur.fetchone())
        except (pymysql.MySQLError, psycopg.Error):
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


@pytest.mark.parametrize("datastore", sorted(DATASTORES))
def test_trove_guest_agent_prepares(datastore, guest_image, workdir, monkeypatch):  # noqa: F811
    version, repo, mount_point, _, _, _ = DATASTORES[datastore]
    archive = _container(datastore)
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir / "work"))
    ledger = Ledger(f"pytest-box-guest-{uuid.uuid4().hex[:6]}")
    address = BoxAddress(ledger)
    rmq = rabbitmq.RabbitMQ(ledger, guest_address=address.address)
    guest = None
    figures = {}
    try:
        rmq.start()
        guest_id, tenant = str(uuid.uuid4()), uuid.uuid4().hex
        key = secrets.token_hex(16)
        spec = TroveGuestSpec(server_id=uuid.uuid4().hex[:12], name=f"tv-box-{datastore}",
                              files=_conf_files(datastore, guest_id, tenant, key,
                                                rmq.transport_url(for_guest=True)),
                              memory_mb=1024, volume_gb=2, docker_images=[archive.name])
        started = time.monotonic()
        guest = boot(spec, ledger, image=guest_image, archives=[archive])
        request = {"transport_url": rmq.transport_url(), "guest_id": guest_id,
                   "tenant_id": tenant, "key": key}
        ping = _trove(dict(request, action="ping", timeout=180), timeout=240)
        figures["boot_to_rpc_ping_s"] = round(time.monotonic() - started, 1)
        assert ping.get("ping") is True, (ping, guest.log_paths())
        # the address Trove's agent hands replicas (oslo's get_my_ipv4) is the
        # guest's own, not 127.0.0.1: a replica must reach its source there
        from verify.box.trove_install import default_venv
        own = subprocess.run(["ip", "netns", "exec", guest.netns,
                              str(default_venv() / "bin" / "python"), "-c",
                              "from oslo_utils import netutils; print(netutils.get_my_ipv4())"],
                             capture_output=True, text=True, timeout=60)
        assert own.stdout.strip() == guest.address, own.stdout + own.stderr

        password = secrets.token_hex(12)
        prepared = time.monotonic()
        _trove(dict(request, action="prepare", memory_mb=1024, device_path=DEVICE,
                    mount_point=mount_point, datastore=datastore, ds_version=version,
                    databases=[{"_name": "tvdb", "_collate": None, "_character_set": None}],
                    users=[{"_name": "tvuser", "_password": password,
                            "_host": "%" if datastore == "mariadb" else None,
                            "_databases": [{"_name": "tvdb", "_collate": None,
                                            "_character_set": None}],
                            "_is_root": False}]), timeout=120)
        reported, database = _login(datastore, guest.address, password,
                                    time.monotonic() + 400)
        figures["prepare_to_login_s"] = round(time.monotonic() - prepared, 1)
        assert reported.startswith(f"{version}."), reported
        assert database == "tvdb"
        status = _trove(dict(request, action="status"), timeout=120)
        assert any(d.get("_name") == "tvdb" for d in status["databases"]), status
        figures["guest_rss_mb"] = round(guest.rss_bytes() / 2**20)
        figures.update({k: round(v, 1) for k, v in guest.timings.items()})
        logs = guest.log_paths()
        assert "logfile.txt" in logs and "dockerd.log" in logs, logs
        # Trove 26's agent logs the RPC key in clear: what reaches evidence is redacted
        assert key not in redact.redact(logs["logfile.txt"].read_text())
        print(f"\nbox guest figures ({datastore} {reported}): {json.dumps(figures)}")
    finally:
        if guest is not None:
            guest.stop()
        rmq.stop()
        address.release()
    assert guest.leftovers() == []
    assert not guest.alive()
    assert not any(Path(p).exists() for p in ("/sys/fs/cgroup/memory/" + guest.docker_cgroup,))
    assert ledger.teardown() == []


KILLED_RUN = r"""
import sys, time
from verify.box.guest import TroveGuestSpec, boot
from verify.images import trove_guest
from verify.state import Ledger
image, _ = trove_guest.build(say=lambda _: None)
guest = boot(TroveGuestSpec(server_id=sys.argv[1], name="tv-killed"), Ledger(sys.argv[1]),
             image=image, archives=[])
print(guest.netns, guest.host_if, guest.cgroup, guest.docker_cgroup, guest.dir, flush=True)
time.sleep(600)
"""


def test_a_sigkilled_box_guest_is_cleaned_up(guest_image, workdir, monkeypatch):  # noqa: F811
    import signal
    import sys

    from verify.state import cleanup_stale, state_dir

    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir / "work"))
    server_id = uuid.uuid4().hex[:12]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, server_id],
                            stdout=subprocess.PIPE, text=True, cwd=repo_root(),
                            env=dict(os.environ, PYTHONPATH=str(repo_root())))
    try:
        line = proc.stdout.readline().split()
        assert len(line) == 5, "the guest did not boot"
        netns, host_if, cgroup, docker_cgroup, directory = line
        assert Path(f"/run/netns/{netns}").exists() and Path(directory).exists()
        dockerd = [p for p in Path("/proc").glob("[0-9]*")
                   if docker_cgroup.encode() in _cmdline(p)]
        assert dockerd, "dockerd was not running in the guest"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    removed = cleanup_stale(state_dir())
    assert any(f"netns {netns}" in r for r in removed), removed
    assert not Path(f"/run/netns/{netns}").exists()
    assert not Path(f"/sys/class/net/{host_if}").exists()
    assert not Path(cgroup).exists()
    assert not list(Path("/sys/fs/cgroup").glob(f"*/{docker_cgroup}"))
    assert not Path(directory).exists()
    assert subprocess.run(["losetup", "-j", f"{directory}/volume.ext4"], capture_output=True,
                          text=True).stdout == ""
    assert not [p for p in Path("/proc").glob("[0-9]*") if docker_cgroup.encode()
                in _cmdline(p) or directory.encode() in _cmdline(p)]


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""
