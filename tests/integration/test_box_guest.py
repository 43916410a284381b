"""A Trove guest booted as the box boots it, driven by Trove's own guest API.

The box's RabbitMQ; one guest from the Trove guest image with the
guest_info.conf and trove-guestagent.conf Trove's task manager writes; then,
from the control plane's side (a subprocess in Trove's virtualenv),
trove.guestagent.api.API.rpc_ping and prepare for MariaDB 10.11 with a
database and a user. Trove's agent formats the volume, starts the `mariadb`
container from the box's image and secures it; the test then logs in as
that user at the guest's address and reads the version. stop() must leave
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
from verify.box import containers, rabbitmq
from verify.box.guest import DEVICE, TroveGuestSpec, boot
from verify.box.network import BoxAddress
from verify.errors import VerifyError
from verify.guests import nshost
from verify.settings import repo_root
from verify.state import Ledger

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
def images():
    reason = _unavailable()
    if reason:
        pytest.skip(f"a Trove guest cannot run here: {reason}")
    from verify.images import trove_guest

    try:
        guest_image, _ = trove_guest.build(say=lambda _: None)
        mariadb, _ = containers.build("mariadb", "10.11", say=lambda _: None)
    except VerifyError as exc:   # cannot build here: say why instead of passing
        pytest.skip(f"the box's images are unavailable: {exc}")
    return guest_image, mariadb


def _trove(request: dict, timeout: float) -> dict:
    proc = subprocess.run([str(TROVE_PYTHON), str(CLIENT)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _conf_files(guest_id: str, tenant: str, key: str, url: str) -> dict[str, str]:
    # as Trove 26's task manager writes them (instance/models.py get_injected_files)
    guest_info = ("[DEFAULT]\n"
                  f"guest_id={guest_id}\n"
                  "datastore_manager=mariadb\n"
                  "datastore_version=10.11\n"
                  f"tenant_id={tenant}\n"
                  "datastore_registry_ext=mariadb:"
                  "trove.guestagent.datastore.mariadb.manager.Manager\n"
                  "replication_strategy=trove.guestagent.strategies.replication."
                  "mariadb_gtid.MariaDBGTIDReplication\n"
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
                  "[mariadb]\n"
                  "docker_image = mariadb\n")
    return {"/etc/trove/conf.d/guest_info.conf": guest_info,
            "/etc/trove/conf.d/trove-guestagent.conf": agent_conf}


def _mariadb_answers(address: str, user: str, password: str, deadline: float):
    import pymysql

    while True:
        try:
            conn = pymysql.connect(host=address, port=3306, user=user, password=password,
                                   database="tvdb", connect_timeout=3)
            with conn.cursor() as cur:
                cur.execute("SELECT VERSION(), DATABASE()")
                row = cur.fetchone()
            conn.close()
            return row
        except pymysql.MySQLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_trove_guest_agent_prepares_mariadb(images, workdir, monkeypatch):  # noqa: F811
    guest_image, mariadb = images
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
        spec = TroveGuestSpec(server_id=uuid.uuid4().hex[:12], name="tv-box-guest-test",
                              files=_conf_files(guest_id, tenant, key,
                                                rmq.transport_url(for_guest=True)),
                              memory_mb=1024, volume_gb=2, docker_images=["mariadb:10.11"])
        started = time.monotonic()
        guest = boot(spec, ledger, image=guest_image, archives=[mariadb])
        request = {"transport_url": rmq.transport_url(), "guest_id": guest_id,
                   "tenant_id": tenant, "key": key}
        ping = _trove(dict(request, action="ping", timeout=180), timeout=240)
        figures["boot_to_rpc_ping_s"] = round(time.monotonic() - started, 1)
        assert ping.get("ping") is True, (ping, guest.log_paths())

        password = secrets.token_hex(12)
        prepared = time.monotonic()
        _trove(dict(request, action="prepare", memory_mb=1024, device_path=DEVICE,
                    mount_point="/var/lib/mysql", datastore="mariadb", ds_version="10.11",
                    databases=[{"_name": "tvdb", "_collate": None, "_character_set": None}],
                    users=[{"_name": "tvuser", "_password": password, "_host": "%",
                            "_databases": [{"_name": "tvdb", "_collate": None,
                                            "_character_set": None}],
                            "_is_root": False}]), timeout=120)
        version, database = _mariadb_answers(guest.address, "tvuser", password,
                                             time.monotonic() + 400)
        figures["prepare_to_login_s"] = round(time.monotonic() - prepared, 1)
        assert version.startswith("10.11."), version
        assert database == "tvdb"
        status = _trove(dict(request, action="status"), timeout=120)
        assert any(d.get("_name") == "tvdb" for d in status["databases"]), status
        figures["guest_rss_mb"] = round(guest.rss_bytes() / 2**20)
        figures.update({k: round(v, 1) for k, v in guest.timings.items()})
        logs = guest.log_paths()
        assert "logfile.txt" in logs and "dockerd.log" in logs, logs
        print(f"\nbox guest figures: {json.dumps(figures)}")
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


def test_a_sigkilled_box_guest_is_cleaned_up(images, workdir, monkeypatch):  # noqa: F811
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
