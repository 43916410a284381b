"""A real Trove API + task manager on 127.0.0.1 for the trove backend's test.

Pieces, all private, on free ports, started and stopped here:
- a real Keystone (PyPI, SQLite, fernet tokens) for tokens and the catalog;
- a private MariaDB (verify/engines/mariadb.py on a process guest) as Trove's
  database (SQLite locks under Trove's concurrent writers);
- Trove 26 (PyPI, in its own virtualenv, see tools/setup.d/trove.sh) serving
  the API and task manager in one process with Trove's own fake
  compute/volume/network/guest clients.

Trove's fakes lag Trove itself; the adaptations are in this directory and
listed in README.md here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from verify.engines import mariadb
from verify.engines.base import free_port, random_password, wait_for
from verify.guests.process import ProcessGuest
from verify.settings import repo_root
from verify.state import Ledger

HERE = Path(__file__).resolve().parent
TROVE_VENV = Path(os.environ.get("TROVE_VERIFY_TROVE_VENV", repo_root() / ".venv-trove"))
REGION = "RegionOne"
IMAGE_ID = "00000000-0000-4000-8000-00000000cafe"   # the fake compute accepts any image


def trove_venv_missing() -> str | None:
    for tool in ("python", "keystone-manage", "trove-manage"):
        if not (TROVE_VENV / "bin" / tool).exists():
            return (f"{TROVE_VENV}/bin/{tool} missing: run tools/setup.sh "
                    "(tools/setup.d/trove.sh builds the Trove virtualenv)")
    return None


@dataclass
class Stack:
    root: Path
    ledger: Ledger
    admin_password: str = field(default_factory=random_password)
    procs: list[subprocess.Popen] = field(default_factory=list)

    # helpers ------------------------------------------------------------------
    def _tool(self, name: str) -> str:
        return str(TROVE_VENV / "bin" / name)

    def _env(self) -> dict:
        # the shims in trove_fake_compat.py are importable by Trove
        return dict(os.environ, PYTHONPATH=str(HERE))

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        with open(self.root / "setup.log", "ab") as log:
            subprocess.run(argv, check=True, timeout=timeout, stdout=log, env=self._env(),
                           stderr=subprocess.STDOUT, cwd=self.root, stdin=subprocess.DEVNULL)

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.root / log_name, "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=self._env())
        log.close()
        self.procs.append(proc)
        self.ledger.add("process", proc.pid)
        return proc

    # pieces -------------------------------------------------------------------
    def start_database(self) -> None:
        guest = ProcessGuest(f"trove-db-{uuid.uuid4().hex[:6]}", self.ledger)
        self.db = mariadb.SERVER(guest, version="10.11", memory_mb=256)
        self.db.start()
        self.db_password = random_password()
        with self.db.client() as c:
            c.query("CREATE DATABASE trove")
            c.query("CREATE USER 'trove'@'%%' IDENTIFIED BY %s", (self.db_password,))
            c.query("GRANT ALL PRIVILEGES ON trove.* TO 'trove'@'%'")

    def start_keystone(self) -> None:
        self.keystone_port = free_port()
        ks = self.root / "keystone"
        for d in ("fernet", "credential"):
            (ks / d).mkdir(parents=True, exist_ok=True)
        conf = ks / "keystone.conf"
        conf.write_text(textwrap.dedent(f"""\
            [DEFAULT]
            log_file = {ks}/keystone.log
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
            """))
        manage = [self._tool("keystone-manage"), "--config-file", str(conf)]
        user = ["--keystone-user", "root", "--keystone-group", "root"]
        self._run([*manage, "db_sync"])
        self._run([*manage, "fernet_setup", *user])
        self._run([*manage, "credential_setup", *user])
        url = f"http://127.0.0.1:{self.keystone_port}/v3"
        self._run([*manage, "bootstrap", "--bootstrap-password", self.admin_password,
                   "--bootstrap-public-url", url, "--bootstrap-internal-url", url,
                   "--bootstrap-admin-url", url, "--bootstrap-region-id", REGION])
        proc = self._spawn([self._tool("python"), str(HERE / "serve_keystone.py"), str(conf),
                            str(self.keystone_port)], "keystone-serve.log")
        self.auth_url = url
        wait_for(self._keystone_token, timeout=60, what="Keystone",
                 alive=lambda: proc.poll() is None, interval=0.3)

    def _keystone_token(self) -> bool:
        return bool(self.connection().auth_token)

    def connection(self):
        import openstack
        return openstack.connect(auth_url=self.auth_url, username="admin",
                                 password=self.admin_password, project_name="admin",
                                 user_domain_name="Default", project_domain_name="Default",
                                 region_name=REGION)

    def register_trove_endpoint(self) -> None:
        self.trove_port = free_port()
        conn = self.connection()
        service = conn.identity.create_service(type="database", name="trove")
        for interface in ("public", "internal", "admin"):
            conn.identity.create_endpoint(
                service_id=service.id, interface=interface, region_id=REGION,
                url=f"http://127.0.0.1:{self.trove_port}/v1.0/$(tenant_id)s")
        # Trove reads the object-store URL from the catalog before it hands
        # a backup to the (fake) swift client, which never contacts it.
        swift = conn.identity.create_service(type="object-store", name="swift")
        conn.identity.create_endpoint(service_id=swift.id, interface="public",
                                      region_id=REGION,
                                      url=f"http://127.0.0.1:{free_port()}/v1/AUTH_$(tenant_id)s")

    def trove_conf(self) -> Path:
        tf = self.root / "trove"
        tf.mkdir(exist_ok=True)
        db_url = (f"mysql+pymysql://trove:{self.db_password}@127.0.0.1:{self.db.port}/trove")
        auth = textwrap.dedent(f"""\
            auth_url = {self.auth_url}
            auth_type = password
            username = admin
            password = {self.admin_password}
            project_name = admin
            user_domain_name = Default
            project_domain_name = Default
            region_name = {REGION}
            """)
        text = (HERE / "trove.conf.in").read_text().format(
            log_dir=tf, port=self.trove_port, paste=HERE / "api-paste.ini",
            db_url=db_url, auth=auth, auth_url=self.auth_url, region=REGION)
        conf = tf / "trove.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return conf

    def start_trove(self, datastores: dict[str, list[str]]) -> None:
        conf = self.trove_conf()
        manage = [self._tool("trove-manage"), "--config-file", str(conf)]
        self._run([*manage, "db_sync"], timeout=300)
        self.widen_fake_id_columns()
        for ds, versions in datastores.items():
            self._run([*manage, "datastore_update", ds, ""])
            for version in versions:
                self._run([*manage, "datastore_version_update", ds, version, ds, IMAGE_ID,
                           "", "1"])
            self._run([*manage, "datastore_update", ds, versions[0]])
            rules = (TROVE_VENV / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
                     / "site-packages" / "trove" / "templates" / ds / "validation-rules.json")
            for version in versions if rules.exists() else []:
                self._run([*manage, "db_load_datastore_config_parameters", ds, version,
                           str(rules)])
        proc = self._spawn([self._tool("python"), str(HERE / "serve_trove.py"),
                            "--config-file", str(conf)], "trove-serve.log")
        self.trove_proc = proc
        import socket

        def answers() -> bool:
            with socket.create_connection(("127.0.0.1", self.trove_port), timeout=1):
                return True
        wait_for(answers, timeout=90, what="Trove API", alive=lambda: proc.poll() is None,
                 interval=0.3)

    def widen_fake_id_columns(self) -> None:
        """Trove's fake nova/cinder make ids like FAKE_VOL_<uuid> (45 chars);
        Trove's schema holds 36 and MariaDB's strict mode refuses the rest."""
        with self.trove_db() as conn, conn.cursor() as cur:
            for column in ("volume_id", "compute_instance_id"):
                cur.execute(f"ALTER TABLE instances MODIFY {column} VARCHAR(64)")

    def clouds_yaml(self, path: Path, cloud: str = "trove-fake") -> Path:
        path.write_text(textwrap.dedent(f"""\
            clouds:
              {cloud}:
                auth:
                  auth_url: {self.auth_url}
                  username: admin
                  password: {self.admin_password}
                  project_name: admin
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: {REGION}
                identity_api_version: 3
            """))
        path.chmod(0o600)
        return path

    def trove_db(self):
        return pymysql.connect(host="127.0.0.1", port=self.db.port, user="trove",
                               password=self.db_password, database="trove", autocommit=True)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)
        if getattr(self, "db", None) is not None:
            self.db.stop()
        self.ledger.teardown()


def start(root: Path, datastores: dict[str, list[str]]) -> Stack:
    stack = Stack(root=root, ledger=Ledger(f"trove-fake-{uuid.uuid4().hex[:6]}"))
    try:
        stack.start_database()
        stack.start_keystone()
        stack.register_trove_endpoint()
        stack.start_trove(datastores)
    except BaseException:
        stack.stop()
        raise
    return stack


if __name__ == "__main__":  # manual: python -m tests.integration.trove_fake.stack DIR
    import signal
    signal.signal(signal.SIGTERM, signal.default_int_handler)   # stop() runs on TERM too
    signal.signal(signal.SIGINT, signal.default_int_handler)
    s = start(Path(sys.argv[1]), {"mariadb": ["10.11"]})
    print(s.auth_url, s.trove_port, s.admin_password, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        s.stop()
