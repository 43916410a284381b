"""What every engine module shares: the runtime it is launched in, the
server lifecycle, the client used for data checks, and bounded waits.

Engines sit low in the stack: they know nothing of guests or backends. A
guest (process, namespace, vm) provides the ``Runtime`` protocol below.
"""

from __future__ import annotations

import abc
import random
import secrets
import socket
import string
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from verify import deadline as scenario_deadline
from verify import redact
from verify.errors import EngineError, WaitTimeout
from verify.settings import Timeouts


@dataclass(frozen=True)
class Identity:
    """The engine as the server itself reports it."""

    name: str
    version: str
    distribution: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "distribution": self.distribution}


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


class Process(Protocol):
    pid: int

    def poll(self) -> int | None: ...


class Runtime(Protocol):
    """Where an engine runs; implemented by verify.guests."""

    name: str
    address: str                   # clients connect here
    host_binaries: bool            # runs this host's installed binaries, not an image's
    bind_address: str              # the server listens here

    def path(self, guest_path: str) -> Path: ...
    def run(self, argv: Sequence[str], *, timeout: float, env: dict | None = None,
            input: bytes | None = None, check: bool = True,
            as_root: bool = False) -> subprocess.CompletedProcess: ...
    def spawn(self, argv: Sequence[str], *, log_file: str,
              env: dict | None = None) -> Process: ...
    def stop_process(self, proc: Process, *, timeout: float) -> None: ...
    def engine_pids(self, proc: Process) -> list[int]:
        """The live processes of the engine spawn() started (not a wrapper)."""
    def signal_engine(self, proc: Process, sig: int) -> None:
        """Deliver sig to the engine's processes only (faults: kill, pause)."""
    def write_file(self, guest_path: str, content: str, *, mode: int = 0o644) -> None: ...
    def make_dirs(self, *guest_paths: str, mode: int = 0o700) -> None: ...
    def free_port(self) -> int: ...
    def port_free(self, port: int) -> bool:
        """Nothing listens on port at bind_address (a second port an engine
        derives from its first, e.g. Redis's cluster bus)."""
    @property
    def data_root(self) -> str: ...


STOP_GRACE = 2.0     # seconds a stop gets even when the scenario's time is up


def random_password(length: int = 24) -> str:
    """A fresh random password, registered for redaction before anyone sees it."""
    alphabet = string.ascii_letters + string.digits
    return redact.register("".join(secrets.choice(alphabet) for _ in range(length)))


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_given_ports: set[tuple[str, int]] = set()    # never hand one port out twice
_given_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on host, found by binding (never assumed).
    Taken below the kernel's ephemeral range: a port bind(0) hands out there
    can be given again to any outgoing connection (a driver's, a replica's)
    in the seconds before a slow server (a JVM) binds it."""
    low = _ephemeral_low()
    if low > 20000 + 1000:
        with _given_lock:
            for _ in range(100):
                port = random.randrange(20000, low)
                if (host, port) not in _given_ports and port_bindable(host, port):
                    _given_ports.add((host, port))
                    return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(check: Callable[[], object], *, timeout: float, what: str,
             interval: float = 0.05, alive: Callable[[], bool] | None = None) -> object:
    """Poll check() until it returns truthy; raise WaitTimeout after timeout.

    alive(), when given, is consulted each round so a dead server fails fast
    instead of waiting out the whole bound. The scenario's deadline cuts
    every wait short: it waits min(timeout, time left in the scenario).
    """
    own, timeout = timeout, scenario_deadline.bound(timeout)
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the engine's client raises its own types
            last_error = exc
        if alive is not None and not alive():
            raise EngineError(f"{what}: the server exited"
                              + (f" ({last_error})" if last_error else ""))
        if scenario_deadline.over(deadline):
            said = scenario_deadline.cut_short(what) or f"{what}: no answer within {own:.0f}s"
            raise WaitTimeout(said + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)
        interval = min(interval * 1.5, 1.0)


class Client(abc.ABC):
    """A connection through the engine's own client library."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @abc.abstractmethod
    def write_items(self, items: dict[str, str]) -> None:
        """Write key/value test data into the current database."""

    @abc.abstractmethod
    def read_items(self) -> dict[str, str]:
        """Read back every key/value the harness wrote."""


class Server(abc.ABC):
    """One engine server in one runtime: configure, launch, probe, stop."""

    engine: str = ""
    default_port: int = 0      # where it listens when the runtime picks no port
    # the configuration rules it enforces, by name (capabilities.ConfigRule);
    # empty: the engine has no configuration capability
    CONFIG_RULES: dict = {}

    def __init__(self, runtime: Runtime, *, version: str, memory_mb: int = 512,
                 timeouts: Timeouts | None = None, settings: dict | None = None):
        self.runtime = runtime
        self.version = version
        self.memory_mb = memory_mb
        self.timeouts = timeouts or Timeouts.from_env()
        self.settings = dict(settings or {})
        self.port = runtime.free_port() or self.default_port
        self.admin = Credentials("os_admin", random_password())
        self.process: Process | None = None

    @abc.abstractmethod
    def start(self) -> None:
        """Initialise on first start, launch, and wait until the client answers."""

    @property
    def base(self) -> str:
        """Where this server keeps everything: the guest's data root."""
        return self.runtime.data_root

    def stop(self) -> None:
        if self.process is not None:
            # after the scenario's deadline a stop still gets a moment of grace
            self.runtime.stop_process(self.process,
                                      timeout=self.timeouts.bound("engine_stop", STOP_GRACE))
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @abc.abstractmethod
    def client(self, database: str | None = None) -> Client:
        """A connection as the admin through the engine's own client library."""

    def identity(self) -> Identity:
        """The engine as the running server reports itself, asked through its client."""
        with self.client() as c:
            return c.identity()

    @abc.abstractmethod
    def log_files(self) -> dict[str, Path]:
        """Engine logs by Trove's log names (general, error, slow_query...)."""
