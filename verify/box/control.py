"""The box's control plane: Trove's database, Keystone, and trove-api,
trove-taskmanager, trove-conductor as three processes.

Everything listens on 127.0.0.1 on free ports, with random credentials
registered for redaction. Each process runs with its cwd in the box
directory, which is in the ledger before anything starts in it (releasing
that directory kills whatever runs there); each port is ledgered before it
is bound.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from verify.box.emulator import MGMT_NETWORK_ID
from verify.box.trove_install import TroveInstall
from verify.engines.base import free_port, random_password, wait_for
from verify.errors import ConfigError
from verify.state import Ledger

HERE = Path(__file__).resolve().parent
REGION = "RegionOne"
SERVICES = ("trove-api", "trove-taskmanager", "trove-conductor")


class PieceFailed(ConfigError):
    """One piece of the box could not start: names it and its log."""

    def __init__(self, piece: str, log: Path | str, detail: str = ""):
        super().__init__(f"{piece} did not start{': ' + detail if detail else ''} "
                         f"(log: {log})", where="box up")
        self.piece, self.log = piece, str(log)


def _write_secret(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


@dataclass
class DatastoreSpec:
    """One datastore to register: its versions and Trove's docker image name."""
    name: str
    manager: str
    versions: list[str]
    docker_image: str


@dataclass
class ControlPlane:
    root: Path
    ledger: Ledger
    trove: TroveInstall
    logs: Path
    admin_password: str = field(default_factory=random_password)
    service_password: str = field(default_factory=random_password)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    # manager -> backup_docker_image (registry/repo; the agent adds the version tag)
    backup_images: dict[str, str] = field(default_factory=dict)

    # helpers ------------------------------------------------------------------
    def port(self) -> int:
        port = free_port()
        self.ledger.add("port", port)
        return port

    def _run(self, piece: str, argv: list[str], log_name: str, timeout: float = 300,
             env: dict | None = None) -> None:
        log = self.logs / log_name
        began = time.monotonic()
        with open(log, "ab") as out:
            try:
                rc = subprocess.run(argv, timeout=timeout, stdout=out, stderr=subprocess.STDOUT,
                                    cwd=self.root, stdin=subprocess.DEVNULL,
                                    env={**os.environ, **(env or {})}).returncode
            except subprocess.TimeoutExpired:
                raise PieceFailed(piece, log, f"{Path(argv[0]).name} timed out") from None
        logging.getLogger("verify.box").info("%s: %s %.1f s", piece, Path(argv[-1]).name,
                                             time.monotonic() - began)
        if rc:
            raise PieceFailed(piece, log, f"{Path(argv[0]).name} {argv[1] if len(argv) > 1 else ''}"
                                          f" exited {rc}")

    def _spawn(self, piece: str, argv: list[str]) -> subprocess.Popen:
        log = self.logs / f"{piece}.out"
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.root,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.ledger.add("process", proc.pid, cmd=piece)
        self.procs[piece] = proc
        return proc

    def _wait_port(self, piece: str, port: int, proc: subprocess.Popen, log: Path,
                   timeout: float = 90) -> None:
        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        try:
            wait_for(answers, timeout=timeout, what=piece, interval=0.2,
                     alive=lambda: proc.poll() is None)
        except Exception:
            raise PieceFailed(piece, log, "exited" if proc.poll() is not None
                              else f"no answer on port {port} in {timeout:.0f} s") from None

    def allocate_ports(self) -> None:
        """Keystone's and Trove's ports, known before either starts (the
        configs of each name both)."""
        self.keystone_port = self.port()
        self.trove_port = self.port()
        self.auth_url = f"http://127.0.0.1:{self.keystone_port}/v3"

    # Trove's database ---------------------------------------------------------
    def start_database(self) -> None:
        from verify.engines.mariadb import server as mariadb
        from verify.guests.process import ProcessGuest

        guest = ProcessGuest(f"box-db-{uuid.uuid4().hex[:6]}", self.ledger)
        self.db = mariadb.SERVER(guest, version="10.11", memory_mb=256)
        try:
            self.db.start()
        except Exception as exc:
            raise PieceFailed("Trove's database (MariaDB)", guest.root, str(exc)) from None
        self.db_password = random_password()
        with self.db.client() as c:
            c.query("CREATE DATABASE trove")
            c.query("CREATE USER 'trove'@'%%' IDENTIFIED BY %s", (self.db_password,))
            c.query("GRANT ALL PRIVILEGES ON trove.* TO 'trove'@'%'")

    # Keystone -----------------------------------------------------------------
    def start_keystone(self) -> None:
        ks = self.root / "keystone"
        for d in ("fernet", "credential"):
            (ks / d).mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = _write_secret(ks / "keystone.conf", textwrap.dedent(f"""\
            [DEFAULT]
            log_file = {self.logs}/keystone.log
            [database]
            connection = sqlite:///{ks}/keystone.db
            [token]
            provider = fernet
            [fernet_tokens]
            key_repository = {ks}/fernet
            [fernet_receipts]
            key_repository = {ks}/fernet
            [credential]
            key_repository = {ks}/credential
            [identity]
            # the box's passwords are random and loopback-only: cheap hashing
            # keeps every token request fast on a small machine
            password_hash_rounds = 4
            """))
        self._run("Keystone", [self.trove.tool("python"), str(HERE / "keystone_setup.py"),
                               str(conf), self.auth_url, REGION], "keystone-setup.log",
                  env={"OS_BOOTSTRAP_PASSWORD": self.admin_password})
        proc = self._spawn("keystone", [self.trove.tool("python"), str(HERE / "serve_keystone.py"),
                                        str(conf), str(self.keystone_port)])
        self._wait_port("Keystone", self.keystone_port, proc, self.logs / "keystone.log")

    def connection(self):
        import openstack
        return openstack.connect(auth_url=self.auth_url, username="admin",
                                 password=self.admin_password, project_name="admin",
                                 user_domain_name="Default", project_domain_name="Default",
                                 region_name=REGION)

    def register_catalog(self, emulator_url: str) -> None:
        """The trove service user, and endpoints for Trove (database) and for
        the emulated compute, network, image and volume services."""
        conn = self.connection()
        service_project = conn.identity.create_project(name="service", domain_id="default")
        user = conn.identity.create_user(name="trove", password=self.service_password,
                                         domain_id="default",
                                         default_project_id=service_project.id)
        admin_role = conn.identity.find_role("admin")
        conn.identity.assign_project_role_to_user(service_project, user, admin_role)
        endpoints = {
            ("database", "trove"): f"http://127.0.0.1:{self.trove_port}/v1.0/$(tenant_id)s",
            ("compute", "nova"): f"{emulator_url}/compute/v2.1",
            ("network", "neutron"): f"{emulator_url}/network",
            ("image", "glance"): f"{emulator_url}/image",
            ("volumev3", "cinderv3"): f"{emulator_url}/volume/v3/$(project_id)s",
        }
        for (kind, name), url in endpoints.items():
            service = conn.identity.create_service(type=kind, name=name)
            # public only: Trove and the clients use public endpoints (publicURL),
            # and each endpoint costs a Keystone call on a busy machine
            conn.identity.create_endpoint(service_id=service.id, interface="public",
                                          region_id=REGION, url=url)

    # Trove --------------------------------------------------------------------
    def write_configs(self, transport_url: str, guest_transport_url: str,
                      datastores: list[DatastoreSpec]) -> Path:
        tdir = self.root / "trove"
        tdir.mkdir(exist_ok=True, mode=0o700)
        if not hasattr(self, "rpc_key"):
            self.rpc_key = random_password(32)
            self.inst_key = random_password(32)
        guest = _write_secret(tdir / "trove-guestagent.conf", guestagent_conf(
            guest_transport_url, datastores, self.backup_images))
        db_url = f"mysql+pymysql://trove:{self.db_password}@127.0.0.1:{self.db.port}/trove"
        text = trove_conf(port=self.trove_port, paste=HERE / "api-paste.ini",
                          log_dir=self.logs, db_url=db_url, auth_url=self.auth_url,
                          service_password=self.service_password,
                          transport_url=transport_url, guest_config=guest,
                          rpc_key=self.rpc_key, inst_key=self.inst_key,
                          datastores=datastores)
        self.conf = _write_secret(tdir / "trove.conf", text)
        return self.conf

    def setup_trove_db(self, datastores: list[DatastoreSpec], image_id: str) -> None:
        """db_sync, the datastores and versions (with the emulated Glance
        image), and Trove's own validation rules for configuration groups."""
        rules_dir = self.trove.package_dir() / "templates"
        plan: list[list] = []
        for ds in datastores:
            plan.append(["datastore_update", ds.name, ""])
            for version in ds.versions:
                plan.append(["datastore_version_update", ds.name, version, ds.manager,
                             image_id, "", 1, None, None, None, version])
                rules = rules_dir / ds.manager / "validation-rules.json"
                if rules.exists():
                    plan.append(["db_load_datastore_config_parameters", ds.name, version,
                                 str(rules), version])
            plan.append(["datastore_update", ds.name, ds.versions[0]])
        plan_file = self.root / "trove" / "setup-plan.json"
        plan_file.write_text(json.dumps(plan, indent=1))
        self._run("trove-manage", [self.trove.tool("python"), str(HERE / "trove_setup.py"),
                                   str(self.conf), str(plan_file)], "trove-manage.log",
                  timeout=900)

    def start_trove(self) -> None:
        for piece in SERVICES:
            self._spawn(piece, [self.trove.tool(piece), "--config-file", str(self.conf)])
        self._wait_port("trove-api", self.trove_port, self.procs["trove-api"],
                        self.logs / "trove-api.log")
        for piece in ("trove-taskmanager", "trove-conductor"):
            if self.procs[piece].poll() is not None:
                raise PieceFailed(piece, self.logs / f"{piece}.log", "exited")

    def make_quota_usages(self) -> None:
        """Trove makes a project's quota-usage rows on first use, and two
        first uses at once race on that insert (one answers 500,
        DBDuplicateEntry on quota_usages). Every run and test shares the box's
        admin project, so the box reads that project's quotas once, before
        anyone creates, and the rows exist from then on."""
        from troveclient.v1 import client as trove_client
        conn = self.connection()
        trove = trove_client.Client(session=conn.session, region_name=REGION)
        trove.quota.show(conn.current_project_id)

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if getattr(self, "db", None) is not None:
            self.db.stop()


def online_resize_possible(status: str | None = None) -> bool:
    """Whether this machine's root may grow a mounted ext filesystem
    (resize2fs's online resize needs CAP_SYS_RESOURCE, bit 24 of CapEff in
    /proc/self/status, or `status`)."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return False
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return False


def _auth_section(auth_url: str, password: str) -> str:
    return textwrap.dedent(f"""\
        auth_url = {auth_url}
        auth_type = password
        username = trove
        password = {password}
        project_name = service
        user_domain_name = Default
        project_domain_name = Default
        region_name = {REGION}
        """)


def trove_conf(*, port: int, paste: Path, log_dir: Path, db_url: str, auth_url: str,
               service_password: str, transport_url: str, guest_config: Path, rpc_key: str,
               inst_key: str, datastores: list[DatastoreSpec],
               usage_timeout: int = 300) -> str:
    """trove.conf for the three services (one file; each logs to its own file
    through its --log-file default of <service>.log in log_dir)."""
    auth = _auth_section(auth_url, service_password)
    ds_sections = "".join(textwrap.dedent(f"""\
        [{ds.manager}]
        docker_image = {ds.docker_image}
        volume_support = True
        root_on_create = False
        usage_timeout = {usage_timeout}
        """) for ds in datastores)
    return textwrap.dedent(f"""\
        [DEFAULT]
        bind_host = 127.0.0.1
        bind_port = {port}
        trove_api_workers = 1
        api_paste_config = {paste}
        log_dir = {log_dir}
        use_stderr = False
        debug = True
        transport_url = {transport_url}
        control_exchange = trove
        taskmanager_rpc_encr_key = {rpc_key}
        inst_rpc_key_encr_key = {inst_key}
        db_api_implementation = trove.db.sqlalchemy.api
        # volumes are Cinder's, served by the box's emulator (emulator_cinder.py)
        trove_volume_support = True
        trove_security_groups_support = False
        management_networks = {MGMT_NETWORK_ID}
        guest_config = {guest_config}
        guest_info = guest_info.conf
        injected_config_location = /etc/trove/conf.d
        os_region_name = {REGION}
        usage_timeout = {usage_timeout}
        # the task manager polls a building guest every usage_sleep_time
        # seconds (default 5) before it calls the instance ACTIVE
        usage_sleep_time = 1
        agent_call_high_timeout = 300
        agent_call_low_timeout = 15
        server_delete_time_out = 60
        resize_time_out = 300
        revert_time_out = 300
        http_get_rate = 5000
        http_post_rate = 5000
        http_put_rate = 5000
        http_delete_rate = 5000
        http_mgmt_post_rate = 5000
        max_accepted_volume_size = 25
        # Trove's default of 10 instances per project: two box runs of 4
        # workers, each scenario with up to 3 instances, went past it (413)
        max_instances_per_tenant = 60
        max_backups_per_tenant = 200
        # GB, 1-2 per instance (Trove's default: 100)
        max_volumes_per_tenant = 200
        # growing a mounted ext filesystem needs CAP_SYS_RESOURCE, which some
        # machines withhold from root: Trove then resizes a volume unmounted
        online_volume_resize = {online_resize_possible()}

        [oslo_messaging_notifications]
        driver = noop

        [network]
        network_isolation = False
        enable_access_check = False

        [database]
        connection = {db_url}

        [keystone_authtoken]
        www_authenticate_uri = {auth_url}
        service_token_roles_required = True
        """) + auth + "\n[service_credentials]\n" + auth + "\n" + ds_sections


def guestagent_conf(transport_url: str, datastores: list[DatastoreSpec],
                    backup_images: dict[str, str] | None = None) -> str:
    """The trove-guestagent.conf Trove injects into each guest (guest_config)."""
    backup_images = backup_images or {}
    ds_sections = "".join(
        f"[{ds.manager}]\ndocker_image = {ds.docker_image}\n"
        + (f"backup_docker_image = {backup_images[ds.manager]}\n"
           if ds.manager in backup_images else "") + "\n"
        for ds in datastores)
    return textwrap.dedent(f"""\
        [DEFAULT]
        log_dir = /var/log/trove
        log_file = trove-guestagent.log
        debug = True
        use_stderr = False
        transport_url = {transport_url}
        control_exchange = trove
        command_process_timeout = 120
        state_change_wait_time = 180
        report_interval = 10
        # the agent calls a started datastore HEALTHY after state_healthy_counts
        # consecutive healthy polls, state_change_poll_time seconds apart
        # (defaults 5 and 3: 12 s on every start); a deployment's choice
        state_change_poll_time = 1
        state_healthy_counts = 2

        [oslo_messaging_notifications]
        driver = noop

        [network]
        network_isolation = False

        """) + ds_sections
