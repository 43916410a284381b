"""A private RabbitMQ (Debian's rabbitmq-server 3.10) for one box.

Everything is its own: node name, AMQP port, Erlang distribution port, an
EPMD on its own port (started here in the foreground, so it never outlives
the box as a daemon), a vhost, a random user and password (the default
guest user never exists: the config names another default user, and a
`guest` found anyway is deleted), and mnesia/log/cookie under the work dir.
It listens on 127.0.0.1 and, when given one, on the box-private address that
namespace guests route to. Every process and directory is in the ledger
before it exists; readiness is checked with rabbitmqctl and a real AMQP
protocol handshake, each within a bound.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from verify.engines.base import free_port, port_bindable, random_password, wait_for
from verify.errors import EngineError, PermissionNeeded, WaitTimeout
from verify.guests.process import SAFE_ENV, check_traversable, service_account
from verify.settings import work_dir
from verify.state import Ledger, release

RABBIT_BIN = Path(os.environ.get("TROVE_VERIFY_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
EPMD = "epmd"
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


def unavailable() -> str | None:
    """Why a private RabbitMQ cannot start here, or None."""
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        return (f"RabbitMQ is not installed ({RABBIT_BIN}/rabbitmq-server is missing; "
                "run tools/setup.sh, which installs rabbitmq-server)")
    if shutil.which(EPMD) is None:
        return "epmd (erlang-base) is missing; run tools/setup.sh"
    return None


def amqp_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """The AMQP 0-9-1 handshake: a server answers the protocol header with a
    method frame (Connection.Start), type 1."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(AMQP_HEADER)
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


class RabbitMQ:
    """start() / stop() / transport_url(for_guest) / log_path."""

    def __init__(self, ledger: Ledger, *, guest_address: str | None = None,
                 directory: Path | None = None, timeout: float = 90.0):
        reason = unavailable()
        if reason:
            raise PermissionNeeded(f"rabbitmq: {reason}")
        self.ledger, self.guest_address, self.timeout = ledger, guest_address, timeout
        tag = uuid.uuid4().hex[:8]
        self.node = f"tv{tag}@localhost"
        self.dir = directory or work_dir() / "box" / f"rabbitmq-{tag}"
        self.vhost = f"trove-{tag}"
        self.user = f"tv{tag}"
        self.password = random_password()
        self.account = service_account()
        self.port = self.dist_port = self.epmd_port = 0
        # logs outside the ledgered directory: they outlive a failed start
        self.log_dir = work_dir() / "box" / "logs" / f"rabbitmq-{tag}"
        self.log_path = self.log_dir / f"{self.node}.log"
        self._entries: list[dict] = []
        self._procs: list[subprocess.Popen] = []

    # lifecycle ----------------------------------------------------------------
    def start(self) -> RabbitMQ:
        try:
            self._prepare()
            self._spawn_epmd()
            self._await_epmd()
            self._spawn_server()
            self._await_ready()
            self._drop_guest()
        except BaseException:
            self.stop()
            raise
        return self

    def _record(self, kind: str, value, **extra) -> dict:
        entry = self.ledger.add(kind, value, **extra)
        self._entries.append(entry)
        return entry

    def _prepare(self) -> None:
        check_traversable(work_dir(), self.account)
        self._record("dir", str(self.dir))
        for parent in (work_dir(), work_dir() / "box", self.log_dir.parent):
            parent.mkdir(parents=True, exist_ok=True)
            parent.chmod(0o755)     # the service user must traverse them
        self.log_dir.mkdir(exist_ok=True, mode=0o700)
        for sub in ("mnesia", "home"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        self.dir.chmod(0o700)
        hosts = ["127.0.0.1"] + ([self.guest_address] if self.guest_address else [])
        self.port = self._port_free_on(hosts)
        self.dist_port = free_port("127.0.0.1")
        self.epmd_port = free_port("127.0.0.1")
        for port in (self.port, self.dist_port, self.epmd_port):
            self._record("port", port, piece="rabbitmq")
        listeners = "\n".join(f"listeners.tcp.{i} = {h}:{self.port}"
                              for i, h in enumerate(hosts, 1))
        (self.dir / "rabbitmq.conf").write_text(
            f"{listeners}\n"
            f"default_user = {self.user}\n"
            f"default_pass = {self.password}\n"
            f"default_vhost = {self.vhost}\n"
            "default_permissions.configure = .*\n"
            "default_permissions.read = .*\n"
            "default_permissions.write = .*\n"
            "loopback_users = none\n"
            "distribution.listener.interface = 127.0.0.1\n"
            f"distribution.listener.port_range.min = {self.dist_port}\n"
            f"distribution.listener.port_range.max = {self.dist_port}\n"
            "log.console = false\n"
            "log.file.level = info\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        (self.dir / "rabbitmq.conf").chmod(0o600)
        if self.account:
            for path in [self.dir, *self.dir.rglob("*"), self.log_dir]:
                os.chown(path, *self.account)

    @staticmethod
    def _port_free_on(hosts: list[str]) -> int:
        # one port number that is free on every address it will listen on
        for _ in range(50):
            port = free_port(hosts[0])
            if all(port_bindable(h, port) for h in hosts[1:]):
                return port
        raise EngineError(f"rabbitmq: no port free on all of {', '.join(hosts)}")

    def _env(self) -> dict:
        d = self.dir
        return dict(SAFE_ENV, HOME=str(d / "home"),
                    RABBITMQ_NODENAME=self.node, RABBITMQ_USE_LONGNAME="false",
                    RABBITMQ_NODE_PORT=str(self.port), RABBITMQ_DIST_PORT=str(self.dist_port),
                    ERL_EPMD_PORT=str(self.epmd_port), ERL_EPMD_ADDRESS="127.0.0.1",
                    RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
                    RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
                    RABBITMQ_CONF_ENV_FILE=str(d / "rabbitmq-env.conf"),
                    RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
                    RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
                    RABBITMQ_LOG_BASE=str(self.log_dir),
                    RABBITMQ_PID_FILE=str(d / "rabbitmq.pid"))

    def _popen(self, argv: list[str], log: Path) -> subprocess.Popen:
        kwargs: dict = {"env": self._env(), "cwd": str(self.dir)}
        if self.account:
            kwargs.update(user=self.account[0], group=self.account[1], extra_groups=[])
        with open(log, "ab") as out:
            if self.account:
                os.chown(log, *self.account)
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        self._procs.append(proc)
        self._record("process", proc.pid, cmd=Path(argv[0]).name)
        return proc

    def _spawn_epmd(self) -> None:
        self.epmd = self._popen([shutil.which(EPMD) or EPMD, "-port", str(self.epmd_port),
                                 "-address", "127.0.0.1"], self.log_dir / "epmd.log")

    def _await_epmd(self, timeout: float = 30.0) -> None:
        # ours answers before the node starts: an erl that finds no epmd
        # daemonises one of its own (no ledger entry, outlives the box)
        log = self.log_dir / "epmd.log"
        try:
            wait_for(lambda: not port_bindable("127.0.0.1", self.epmd_port), timeout=timeout,
                     what="rabbitmq: epmd listening", alive=lambda: self.epmd.poll() is None)
        except WaitTimeout as exc:    # before EngineError: it is one
            raise WaitTimeout(f"{exc} (log: {log})") from exc
        except EngineError as exc:
            raise EngineError(f"rabbitmq: epmd exited {self.epmd.returncode}",
                              where=str(log)) from exc

    def _spawn_server(self) -> None:
        self.server = self._popen([str(RABBIT_BIN / "rabbitmq-server")],
                                  self.log_dir / "startup.log")

    def ctl(self, *args: str, timeout: float = 30.0, tool: str = "rabbitmqctl") -> str:
        """Run a RabbitMQ CLI tool against this node (bounded)."""
        kwargs: dict = {"env": self._env(), "cwd": str(self.dir)}
        if self.account:
            kwargs.update(user=self.account[0], group=self.account[1], extra_groups=[])
        try:
            proc = subprocess.run([str(RABBIT_BIN / tool), "-q", "-n", self.node, *args],
                                  capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL, **kwargs)
        except subprocess.TimeoutExpired:
            raise WaitTimeout(f"rabbitmq: {tool} {args[0]} did not finish within "
                              f"{timeout:.0f}s (log: {self.log_path})") from None
        if proc.returncode != 0:
            raise EngineError(f"rabbitmq: {tool} {args[0]} failed: "
                              f"{(proc.stderr or proc.stdout).strip()[-300:]}",
                              where=str(self.log_path))
        return proc.stdout

    def _await_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        hosts = ["127.0.0.1"] + ([self.guest_address] if self.guest_address else [])
        try:
            wait_for(lambda: all(amqp_answers(h, self.port) for h in hosts),
                     timeout=self.timeout, what="rabbitmq", interval=0.5,
                     alive=lambda: self.server.poll() is None)
        except EngineError:
            raise EngineError(f"rabbitmq could not start (exited {self.server.returncode}); "
                              f"see its log {self.log_path} and "
                              f"{self.log_dir / 'startup.log'}") from None
        except WaitTimeout:
            raise WaitTimeout(f"rabbitmq did not answer AMQP on port {self.port} within "
                              f"{self.timeout:.0f}s; see its log {self.log_path}") from None
        left = max(5.0, deadline - time.monotonic())
        self.ctl("await_startup", "--timeout", str(int(left)), timeout=left + 10)

    def _drop_guest(self) -> None:
        users = self.ctl("list_users", "--formatter", "json")
        if '"guest"' in users:
            self.ctl("delete_user", "guest")

    def users(self) -> list[str]:
        return [u["user"] for u in json.loads(self.ctl("list_users", "--formatter", "json"))]

    def transport_url(self, for_guest: bool = False) -> str:
        """oslo.messaging's URL; for_guest uses the box-private address."""
        if for_guest and not self.guest_address:
            raise EngineError("rabbitmq was started without a guest-reachable address")
        host = self.guest_address if for_guest else "127.0.0.1"
        return (f"rabbit://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
                f"@{host}:{self.port}/{quote(self.vhost, safe='')}")

    def alive(self) -> bool:
        return bool(self._procs) and self.server.poll() is None and amqp_answers(
            "127.0.0.1", self.port)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the node (rabbitmqctl stop, then signals), epmd, and remove
        the directory; everything it took leaves the ledger."""
        server = getattr(self, "server", None)
        if server is not None and server.poll() is None:
            try:
                self.ctl("stop", timeout=timeout)
            except EngineError:
                pass
            try:
                server.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        release(self._entries, self.ledger.root)
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for entry in self._entries:
            self.ledger.forget(entry)
        self._entries, self._procs = [], []
