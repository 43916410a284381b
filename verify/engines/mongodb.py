"""MongoDB: a `mongod` the user has (TROVE_VERIFY_MONGOD or PATH), probed and
operated through pymongo.

No archive or registry this project installs from publishes mongod, so the
harness never fetches one. Its code path is tested against a wire-compatible
stand-in (SecantusDB from PyPI), launched only when TROVE_VERIFY_MONGODB_STANDIN
asks for it; such a run is labelled stand-in and never classifies.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pymongo
import pymongo.errors

from verify.engines._staging import stage
from verify.engines.base import Client, Credentials, Identity, Server, random_password, wait_for
from verify.engines.capabilities import Backup, CapabilityOps
from verify.errors import EngineError, NotSupported

ENGINE = "mongodb"
ENV_MONGOD = "TROVE_VERIFY_MONGOD"
ENV_STANDIN = "TROVE_VERIFY_MONGODB_STANDIN"
STANDIN = "secantusdb"
ITEMS = "verify_items"
SYSTEM_DBS = {"admin", "local", "config"}
HIDDEN_USERS = {"os_admin", "root"}


# finding a server ------------------------------------------------------------
def find_mongod() -> str | None:
    return os.environ.get(ENV_MONGOD) or shutil.which("mongod")


def _world_usable(path: Path) -> bool:
    """Whether an unprivileged service user can reach and run path."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _installed_files(name: str) -> list[tuple[Path, str]]:
    """(file, path relative to site-packages) of distribution name and of
    every distribution it requires (extras left out)."""
    seen: set[str] = set()
    todo, files = [name], []
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        seen.add(key)
        for f in dist.files or []:
            src = Path(dist.locate_file(f))
            if not str(f).startswith("..") and src.is_file():
                files.append((src, str(f)))
        todo += [re.match(r"[A-Za-z0-9._-]+", r).group(0) for r in dist.requires or []
                 if "extra ==" not in r]
    return files


def _python() -> Path:
    """An interpreter the service user may run: this virtualenv's, or the same
    Python release from /usr/bin when the virtualenv is under a private home."""
    python = Path(sys.executable)
    if _world_usable(python):
        return python
    return Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")


def _standin_launcher() -> tuple[list[str], dict] | None:
    """(argv prefix, env) running SecantusDB's server, or None when not installed.
    Servers run as the unprivileged service user: when it cannot reach this
    virtualenv's packages, it runs a staged copy of SecantusDB and its
    requirements from the work directory."""
    spec = importlib.util.find_spec("secantus")
    if spec is None or spec.origin is None:
        return None
    site = Path(spec.origin).parent.parent
    if not _world_usable(site):
        version = metadata.version(STANDIN)
        site = stage(f"{STANDIN}-{version}-py{sys.version_info.major}{sys.version_info.minor}",
                     _installed_files(STANDIN))
    code = "import sys; from secantus.cli import main; sys.argv[0] = 'secantusd'; main()"
    return [str(_python()), "-c", code], {"PYTHONPATH": str(site)}


def stand_in() -> str | None:
    """The stand-in the harness was asked to launch instead of mongod, if any."""
    wanted = os.environ.get(ENV_STANDIN, "")
    return STANDIN if wanted.lower() in (STANDIN, "secantus", "1", "yes") else None


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
    if find_mongod():
        return None
    return (f"cannot launch mongodb here: no mongod found (looked at ${ENV_MONGOD} and for "
            f"mongod on PATH); point the harness at one with {ENV_MONGOD}=/path/to/mongod, "
            "or verify MongoDB through a Trove deployment with --backend trove")


# the client --------------------------------------------------------------------
class MongoClient(Client):
    def __init__(self, host: str, port: int, creds: Credentials | None,
                 database: str | None = None, timeout: float = 10.0):
        auth = {"username": creds.user, "password": creds.password,
                "authSource": "admin"} if creds else {}
        self.conn = pymongo.MongoClient(host, port, directConnection=True,
                                        serverSelectionTimeoutMS=int(timeout * 1000),
                                        connectTimeoutMS=int(timeout * 1000), **auth)
        self.database = database or "verify"

    def close(self) -> None:
        self.conn.close()

    def admin(self, command: str, *args, **kwargs) -> dict:
        return self.conn.admin.command(command, *args, **kwargs)

    # databases: Trove creates one by writing into it
    def create_database(self, name: str) -> None:
        self.conn[name]["trove_created"].insert_one({"_id": "created"})

    def list_databases(self) -> list[str]:
        return sorted(set(self.conn.list_database_names()) - SYSTEM_DBS)

    def delete_database(self, name: str) -> None:
        self.conn.drop_database(name)

    # users live in admin, with readWrite on their databases
    def create_user(self, name: str, password: str, databases: list[str]) -> None:
        self.admin("createUser", name, pwd=password,
                   roles=[{"role": "readWrite", "db": d} for d in databases])

    def users(self) -> list[dict]:
        return self.admin("usersInfo")["users"]

    def list_users(self) -> list[str]:
        return sorted({u["user"] for u in self.users()} - HIDDEN_USERS)

    def delete_user(self, name: str) -> None:
        self.admin("dropUser", name)

    # data
    def write_items(self, items: dict[str, str]) -> None:
        # MongoDB creates a database on first write; a Trove database is an
        # explicit entity, so test data goes only into one that exists
        if not self.conn[self.database].list_collection_names():
            raise EngineError(f"database {self.database} does not exist")
        coll = self.conn[self.database][ITEMS]
        for k, v in items.items():
            coll.replace_one({"_id": k}, {"_id": k, "v": v}, upsert=True)

    def read_items(self) -> dict[str, str]:
        return {d["_id"]: d["v"] for d in self.conn[self.database][ITEMS].find().sort("_id")}


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> MongoClient:
    return MongoClient(host, port, creds, database, timeout)


# the server ------------------------------------------------------------------------
class MongoDBServer(CapabilityOps, Server):
    engine = ENGINE
    default_port = 27017

    def __init__(self, runtime, **kwargs):
        super().__init__(runtime, **kwargs)
        self.stand_in = stand_in()
        self.launcher = _standin_launcher() if self.stand_in else None
        self.binary = (self.launcher[0][0] if self.launcher else find_mongod()) or "mongod"
        self._initialised = False


    def memory_setting_mb(self, memory_mb: int) -> int:
        return max(256, memory_mb // 2)   # mongod's own rule: half of RAM less 1 GB

    def _argv(self, *, auth: bool, bind: str) -> list[str]:
        b, cache = self.base, self.memory_setting_mb(self.memory_mb)
        if self.stand_in:
            return [*self.launcher[0], "--host", bind, "--port", str(self.port),
                    "--storage-path", f"{b}/data", "--standalone", "--cache-size",
                    f"{cache}M", "--log-level", "WARNING", *(["--auth"] if auth else [])]
        return [self.binary, "--dbpath", f"{b}/data", "--port", str(self.port),
                "--bind_ip", bind, "--logpath", f"{b}/log/mongod.log", "--logappend",
                "--unixSocketPrefix", f"{b}/run", "--wiredTigerCacheSizeGB",
                f"{cache / 1024:.2f}", *(["--auth"] if auth else [])]

    def _launch(self, *, auth: bool, bind: str) -> None:
        self.process = self.runtime.spawn(self._argv(auth=auth, bind=bind),
                                          log_file=f"{self.base}/log/console.log",
                                          env=self.launcher[1] if self.launcher else None)
        wait_for(lambda: self._hello(bind), timeout=self.timeouts.engine_start,
                 what=f"{self.stand_in or 'mongod'} on {bind}:{self.port}", alive=self.running)

    def _hello(self, host: str) -> bool:
        with MongoClient(host, self.port, None, timeout=2) as c:
            return bool(c.admin("hello"))

    def _bootstrap(self) -> None:
        b = self.base
        self.runtime.make_dirs(f"{b}/data", f"{b}/log", f"{b}/run")
        if self.stand_in:
            # SecantusDB has no localhost exception: create the admin without
            # auth on loopback, then restart with auth (stand-in only)
            self._launch(auth=False, bind="127.0.0.1")
        else:
            # mongod's localhost exception: --auth from the start, and the first
            # user may be created over loopback only
            self._launch(auth=True, bind="127.0.0.1")
        with MongoClient("127.0.0.1", self.port, None) as c:
            c.admin("createUser", self.admin.user, pwd=self.admin.password,
                    roles=[{"role": "root", "db": "admin"}])
        self.stop()
        self._initialised = True

    def start(self) -> None:
        if not self._initialised:
            self._bootstrap()
        self._launch(auth=True, bind=self.runtime.bind_address)
        wait_for(self.ping, timeout=self.timeouts.engine_start,
                 what=f"MongoDB login on {self.runtime.address}:{self.port}", alive=self.running)

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
        return Identity(ENGINE, info["version"], ",".join(info.get("modules", [])))

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
            return c.admin(command, *args, **kwargs)

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
            raise NotSupported(f"{name} not found {where} (install the MongoDB "
                               "Database Tools)")
        return found

    def _tool_config(self) -> str:
        path = f"{self.base}/run/tools.yaml"
        self.runtime.write_file(path, f"password: {self.admin.password}\n", mode=0o600)
        return path

    def _tool_args(self) -> list[str]:
        return [f"--host={self.runtime.address}", f"--port={self.port}",
                f"--username={self.admin.user}", "--authenticationDatabase=admin",
                f"--config={self._tool_config()}"]

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if strategy != "mongodump":
            return super().backup(strategy, dest, parent)
        tool = self._tool("mongodump")
        # dest is a directory in this server's guest (the backend stores it)
        self.runtime.run([tool, *self._tool_args(), f"--archive={dest}/dump.archive",
                          "--gzip"], timeout=self.timeouts.command)
        return Backup("mongodump", dest)

    def restore(self, backup: Backup) -> None:
        if backup.strategy != "mongodump":
            return super().restore(backup)
        tool = self._tool("mongorestore")
        self.start()
        self.runtime.run([tool, *self._tool_args(), f"--archive={backup.path}/dump.archive",
                          "--gzip",
                          "--drop", "--nsExclude=admin.*"], timeout=self.timeouts.command)

    def check_started(self) -> None:
        if not self.running():
            raise EngineError("MongoDB is not running")


SERVER = MongoDBServer
