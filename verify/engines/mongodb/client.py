"""MongoDB's client (pymongo), one member at a time."""

from __future__ import annotations

import pymongo
import pymongo.errors
from pymongo.write_concern import WriteConcern

from verify.engines.base import Client, Credentials
from verify.errors import EngineError

ITEMS = "verify_items"
SYSTEM_DBS = {"admin", "local", "config"}
HIDDEN_USERS = {"os_admin", "root"}


class MongoClient(Client):
    """One member, directly: reads are that member's own (data checked on
    every member of a replica set). Writes go to the replica set's primary,
    as any driver sends them, and count once durable (see _collection)."""

    def __init__(self, host: str, port: int, creds: Credentials | None,
                 database: str | None = None, timeout: float = 10.0):
        self.auth = {"username": creds.user, "password": creds.password,
                     "authSource": "admin"} if creds else {}
        self.timeouts = {"serverSelectionTimeoutMS": int(timeout * 1000),
                         "connectTimeoutMS": int(timeout * 1000)}
        self.conn = pymongo.MongoClient(host, port, directConnection=True,
                                        **self.timeouts, **self.auth)
        self.database = database or "verify"
        self._writer: pymongo.MongoClient | None = None
        self._majority = False

    def close(self) -> None:
        self.conn.close()
        if self._writer is not None:
            self._writer.close()

    def admin(self, command: str, *args, **kwargs) -> dict:
        """A command on this member itself."""
        return self.conn.admin.command(command, *args, **kwargs)

    @property
    def writer(self) -> pymongo.MongoClient:
        """This member when it takes writes (standalone or primary), else a
        client that finds the replica set's primary."""
        if self._writer is None:
            hello = self.admin("hello")
            set_name = hello.get("setName")
            self._majority = bool(set_name)
            if not set_name or hello.get("isWritablePrimary"):
                self._writer = self.conn
            else:
                hosts = hello.get("hosts") or [f"{self.conn.address[0]}:{self.conn.address[1]}"]
                self._writer = pymongo.MongoClient(hosts, replicaSet=set_name,
                                                   **self.timeouts, **self.auth)
        return self._writer

    def admin_write(self, command: str, *args, **kwargs) -> dict:
        """A command that changes replicated state (users, roles)."""
        return self.writer.admin.command(command, *args, **kwargs)

    # databases: Trove creates one by writing into it
    def create_database(self, name: str) -> None:
        self._collection(name, "trove_created").insert_one({"_id": "created"})

    def list_databases(self) -> list[str]:
        return sorted(set(self.conn.list_database_names()) - SYSTEM_DBS)

    def delete_database(self, name: str) -> None:
        self.writer.drop_database(name)

    # users live in admin, with readWrite on their databases
    def create_user(self, name: str, password: str, databases: list[str]) -> None:
        self.admin_write("createUser", name, pwd=password,
                         roles=[{"role": "readWrite", "db": d} for d in databases])

    def users(self) -> list[dict]:
        return self.admin("usersInfo")["users"]

    def list_users(self) -> list[str]:
        return sorted({u["user"] for u in self.users()} - HIDDEN_USERS)

    def delete_user(self, name: str) -> None:
        self.admin_write("dropUser", name)

    # data
    def _collection(self, database: str, name: str):
        """Writes acknowledged only once durable: by a majority of a replica
        set, or in a standalone server's journal (mongod's default w: 1
        acknowledges before the journal commit, up to 100 ms of writes a
        crash loses)."""
        coll = self.writer[database][name]
        # a majority may take an election (seconds) plus catch-up to answer
        concern = WriteConcern("majority", wtimeout=max(
            30_000, self.timeouts["serverSelectionTimeoutMS"])) \
            if self._majority else WriteConcern(j=True)
        return coll.with_options(write_concern=concern)

    def write_items(self, items: dict[str, str]) -> None:
        # MongoDB creates a database on first write; a Trove database is an
        # explicit entity, so test data goes only into one that exists
        if not self.writer[self.database].list_collection_names():
            raise EngineError(f"database {self.database} does not exist")
        coll = self._collection(self.database, ITEMS)
        for k, v in items.items():
            coll.replace_one({"_id": k}, {"_id": k, "v": v}, upsert=True)

    def read_items(self) -> dict[str, str]:
        return {d["_id"]: d["v"] for d in self.conn[self.database][ITEMS].find().sort("_id")}


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> MongoClient:
    return MongoClient(host, port, creds, database, timeout)
