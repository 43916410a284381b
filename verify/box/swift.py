"""Real OpenStack Swift in the box: the object store Trove keeps backups in.

Four processes from the Trove virtualenv (``swift`` pinned in
tools/setup.d/trove.sh): the account, container and object servers on
127.0.0.1, and the proxy on the box-private address (guests' backup
containers reach it there; host processes too). One-replica rings built
with swift-ring-builder; the one device lives on an ext4 filesystem (user
xattrs, which the object server needs) in a sparse file, loop-mounted. The
proxy authenticates through the box's Keystone (keystonemiddleware
authtoken + Swift's keystoneauth) as a ``swift`` service user with a random
password; the catalog gets an ``object-store`` endpoint.

Every loop device, mount, port and process is in the box's ledger before it
exists. Swift reads its swift.conf from ``swift_dir`` (each server's
[DEFAULT]), so nothing is written under /etc.
"""

from __future__ import annotations

import logging
import secrets
import socket
import subprocess
import textwrap
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from verify.box.control import PieceFailed
from verify.box.trove_install import TroveInstall
from verify.engines.base import free_port, random_password, wait_for
from verify.guests.nshost import sh
from verify.state import Ledger

PINNED = "2.38.3"       # tools/setup.d/trove.sh installs this into the Trove venv
STORAGE = ("account", "container", "object")
DEVICE = "d1"
VOLUME_MB = 2048        # sparse: only what backups write takes disk
PIPELINE = ("catch_errors gatekeeper healthcheck proxy-logging authtoken keystoneauth "
            "proxy-logging proxy-server")
PART_POWER = 8          # 256 partitions: one device, one replica


def _failed(piece: str, log: Path | str, detail: str = "") -> PieceFailed:
    """One Swift piece could not start: one line naming it and its log."""
    return PieceFailed(f"Swift {piece}", log, detail)


def swift_conf(hash_suffix: str, hash_prefix: str) -> str:
    return textwrap.dedent(f"""\
        [swift-hash]
        swift_hash_path_suffix = {hash_suffix}
        swift_hash_path_prefix = {hash_prefix}

        [storage-policy:0]
        name = Policy-0
        default = yes
        """)


def storage_conf(kind: str, *, port: int, devices: Path, swift_dir: Path) -> str:
    """An account, container or object server on 127.0.0.1: one process
    (workers = 0), no mount check (the device is a directory on our mount)."""
    return textwrap.dedent(f"""\
        [DEFAULT]
        bind_ip = 127.0.0.1
        bind_port = {port}
        workers = 0
        user = root
        swift_dir = {swift_dir}
        devices = {devices}
        mount_check = false
        log_name = {kind}-server

        [pipeline:main]
        pipeline = {kind}-server

        [app:{kind}-server]
        use = egg:swift#{kind}
        """)


def proxy_conf(*, address: str, port: int, swift_dir: Path, auth_url: str,
               password: str, region: str) -> str:
    """The proxy on the box-private address, Keystone auth: tokens are
    validated by authtoken (as the swift service user), access decided by
    keystoneauth (admin and member are operators of their project's
    account, which is created on first use)."""
    return textwrap.dedent(f"""\
        [DEFAULT]
        bind_ip = {address}
        bind_port = {port}
        workers = 0
        user = root
        swift_dir = {swift_dir}
        log_name = proxy-server

        [pipeline:main]
        pipeline = {PIPELINE}

        [app:proxy-server]
        use = egg:swift#proxy
        account_autocreate = true

        [filter:catch_errors]
        use = egg:swift#catch_errors

        [filter:gatekeeper]
        use = egg:swift#gatekeeper

        [filter:healthcheck]
        use = egg:swift#healthcheck

        [filter:proxy-logging]
        use = egg:swift#proxy_logging

        [filter:authtoken]
        paste.filter_factory = keystonemiddleware.auth_token:filter_factory
        www_authenticate_uri = {auth_url}
        auth_url = {auth_url}
        auth_type = password
        username = swift
        password = {password}
        project_name = service
        user_domain_name = Default
        project_domain_name = Default
        region_name = {region}
        delay_auth_decision = True

        [filter:keystoneauth]
        use = egg:swift#keystoneauth
        operator_roles = admin, member
        """)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


@dataclass
class Swift:
    root: Path              # <box>/run/swift (in the ledger as part of run/)
    ledger: Ledger
    trove: TroveInstall
    logs: Path
    password: str = field(default_factory=random_password)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    address: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def devices(self) -> Path:
        return self.root / "srv"

    def missing(self) -> str | None:
        for tool in ("swift-ring-builder", "swift-proxy-server", "swift-object-server"):
            if not Path(self.trove.tool(tool)).exists():
                return (f"{self.trove.venv}/bin/{tool} missing: run tools/setup.sh "
                        f"(tools/setup.d/trove.sh installs swift=={PINNED})")
        return None

    # storage: filesystem, rings, account/container/object servers ------------
    def start_storage(self) -> None:
        """Everything but the proxy (which needs the box address and
        Keystone): on 127.0.0.1 only."""
        began = time.monotonic()
        if (problem := self.missing()) is not None:
            raise _failed("install", self.trove.venv, problem)
        self.root.mkdir(mode=0o700)
        _write(self.root / "swift.conf", swift_conf(secrets.token_hex(16),
                                                    secrets.token_hex(16)))
        self._filesystem()
        for kind in STORAGE:
            self.ports[kind] = self._port()
        self._rings()
        for kind in STORAGE:
            conf = _write(self.root / f"{kind}-server.conf", storage_conf(
                kind, port=self.ports[kind], devices=self.devices, swift_dir=self.root))
            self._spawn(f"{kind}-server", [self.trove.tool(f"swift-{kind}-server"), str(conf),
                                           "-v"])
        for kind in STORAGE:
            self._wait(f"{kind}-server", "127.0.0.1", self.ports[kind])
        self.timings["storage_s"] = round(time.monotonic() - began, 2)

    def _filesystem(self) -> None:
        """ext4 in a sparse file, loop-mounted at srv/ (ledgered first:
        released newest first, so unmounted before the loop is detached)."""
        backing = self.root / "objects.img"
        with open(backing, "wb") as fh:
            fh.truncate(VOLUME_MB << 20)
        log = self.logs / "swift-storage.log"
        try:
            sh("mkfs.ext4", "-q", "-F", "-m", "0", str(backing))
            self.ledger.add("loop", str(backing))
            loop = sh("losetup", "-f", "--show", str(backing)).strip()
            self.devices.mkdir()
            self.ledger.add("mount", str(self.devices))
            sh("mount", "-o", "user_xattr,noatime", loop, str(self.devices))
        except Exception as exc:
            raise _failed("storage filesystem", log, str(exc)) from None
        (self.devices / DEVICE).mkdir()

    def _rings(self) -> None:
        """The three rings at once (each is three swift-ring-builder runs,
        mostly interpreter start-up)."""
        errors: list[BaseException] = []

        def one(kind: str) -> None:
            try:
                self._ring(kind)
            except BaseException as exc:     # raised below, in the caller's thread
                errors.append(exc)
        threads = [threading.Thread(target=one, args=(kind,), name=f"ring-{kind}")
                   for kind in STORAGE]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def _ring(self, kind: str) -> None:
        builder = self.trove.tool("swift-ring-builder")
        log = self.logs / f"swift-rings-{kind}.log"
        file = str(self.root / f"{kind}.builder")
        with open(log, "ab") as out:
            for args in (["create", str(PART_POWER), "1", "1"],
                         ["add", f"r1z1-127.0.0.1:{self.ports[kind]}/{DEVICE}", "100"],
                         ["rebalance"]):
                rc = subprocess.run([builder, file, *args], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.root, timeout=120).returncode
                # rebalance exits 1 for "warnings" (a one-device ring); 2 is an error
                if rc not in (0, 1) or (rc == 1 and args[0] != "rebalance"):
                    raise _failed(f"{kind} ring", log,
                                  f"swift-ring-builder {args[0]} exited {rc}")
        if not (self.root / f"{kind}.ring.gz").exists():
            raise _failed(f"{kind} ring", log, "no ring written")

    # proxy ---------------------------------------------------------------------
    def start_proxy(self, address: str, auth_url: str, region: str) -> None:
        began = time.monotonic()
        self.address = address
        self.ports["proxy"] = self._port(address)
        conf = _write(self.root / "proxy-server.conf", proxy_conf(
            address=address, port=self.ports["proxy"], swift_dir=self.root, auth_url=auth_url,
            password=self.password, region=region))
        self._spawn("proxy-server", [self.trove.tool("swift-proxy-server"), str(conf), "-v"])
        self._wait("proxy-server", address, self.ports["proxy"])
        self._healthy()
        self.timings["proxy_s"] = round(time.monotonic() - began, 2)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.ports['proxy']}"

    def endpoint(self) -> str:
        """The catalog's object-store URL (Keystone fills in the project)."""
        return f"{self.url}/v1/AUTH_$(project_id)s"

    def _healthy(self) -> None:
        def ok() -> bool:
            with urllib.request.urlopen(f"{self.url}/healthcheck", timeout=5) as resp:
                return resp.status == 200
        try:
            wait_for(ok, timeout=60, what="Swift proxy healthcheck", interval=0.2,
                     alive=lambda: self.procs["proxy-server"].poll() is None)
        except Exception as exc:
            raise _failed("proxy-server", self.logs / "swift-proxy-server.log",
                              f"healthcheck: {exc}") from None

    # processes -----------------------------------------------------------------
    def _port(self, host: str = "127.0.0.1") -> int:
        port = free_port(host)
        self.ledger.add("port", port)
        return port

    def _spawn(self, piece: str, argv: list[str]) -> None:
        with open(self.logs / f"swift-{piece}.log", "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.root,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.ledger.add("process", proc.pid, cmd=f"swift-{piece}")
        self.procs[piece] = proc

    def _wait(self, piece: str, host: str, port: int, timeout: float = 60) -> None:
        proc = self.procs[piece]

        def answers() -> bool:
            with socket.create_connection((host, port), timeout=1):
                return True
        try:
            wait_for(answers, timeout=timeout, what=f"Swift {piece}", interval=0.1,
                     alive=lambda: proc.poll() is None)
        except Exception:
            raise _failed(piece, self.logs / f"swift-{piece}.log",
                              "exited" if proc.poll() is not None
                              else f"no answer on {host}:{port} in {timeout:.0f} s") from None

    def register(self, conn, region: str) -> None:
        """The swift service user (admin in the service project, which
        authtoken needs to validate tokens) and the object-store endpoint."""
        project = conn.identity.find_project("service", domain_id="default")
        user = conn.identity.create_user(name="swift", password=self.password,
                                         domain_id="default", default_project_id=project.id)
        conn.identity.assign_project_role_to_user(project, user,
                                                  conn.identity.find_role("admin"))
        service = conn.identity.create_service(type="object-store", name="swift")
        conn.identity.create_endpoint(service_id=service.id, interface="public",
                                      region_id=region, url=self.endpoint())

    def info(self) -> dict:
        """What status.json (and so run.json) records about the object store."""
        return {"swift": PINNED, "url": self.url, "endpoint": self.endpoint(),
                "started": self.timings}

    def dead(self) -> list[str]:
        return [f"swift-{name}" for name, p in self.procs.items() if p.poll() is not None]

    def stop(self) -> None:
        """Terminate the servers; the ledger unmounts and detaches."""
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                logging.getLogger("verify.box").warning("swift-%s ignored SIGTERM", name)
                proc.kill()
                proc.wait(timeout=15)

