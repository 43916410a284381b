"""MySQL operations Trove's guest agent performs: configuration groups,
backups (mysqldump logical, clone plugin physical), replication by GTID
auto-positioning (mysql_gtid) or by binlog file and position (mysql_binlog),
promote, follow, detach. Mixed into verify.engines.mysql.MySQLServer.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pymysql
import pymysql.cursors

from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.capabilities import Backup
from verify.errors import EngineError, NotSupported

BACKUP_STRATEGIES = ("mysqldump", "clone")
REPLICATION_STRATEGIES = ("mysql_gtid", "mysql_binlog")
REPLICATION_USER = "replicator"


_BINLOG_POS = re.compile(r"SOURCE_LOG_FILE='([^']+)', SOURCE_LOG_POS=(\d+)")
_GTID_PURGED = re.compile(r"GTID_PURGED=/\*!80000 '\+'\*/ '([^']*)'", re.S)


def dict_query(client, sql: str, args: tuple | None = None) -> list[dict]:
    with client.conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def binlog_status(client) -> tuple[str, int]:
    try:
        row = dict_query(client, "SHOW BINARY LOG STATUS")[0]
    except pymysql.err.ProgrammingError:   # before 8.2
        row = dict_query(client, "SHOW MASTER STATUS")[0]
    return row["File"], int(row["Position"])


def gtid_count(gtid_set: str) -> int:
    """Transactions in a GTID set such as 'uuid:1-5:7,uuid2:1-3'."""
    total = 0
    for member in filter(None, (m.strip() for m in gtid_set.replace("\n", "").split(","))):
        for interval in member.split(":")[1:]:
            if interval and interval[0].isdigit():
                lo, _, hi = interval.partition("-")
                total += int(hi or lo) - int(lo) + 1
    return total


def dump_meta(text: str) -> dict:
    meta: dict = {}
    if m := _BINLOG_POS.search(text):
        meta.update(binlog_file=m.group(1), binlog_pos=int(m.group(2)))
    if m := _GTID_PURGED.search(text):
        meta["gtid_executed"] = m.group(1).replace("\n", "")
    return meta


class MySQLOps:
    """`self` is a MySQLServer (runtime, client(), settings, restart())."""

    _promoted_at: tuple[str, int] | None = None
    repl_creds: Credentials | None = None

    # backup and restore --------------------------------------------------------
    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        """dest is a directory in this server's guest (the backend stores it)."""
        if strategy == "innobackupex":
            # Trove's MySQL strategy; it stays claimed, and stays unverified here
            raise NotSupported("innobackupex needs Percona XtraBackup, which no reachable "
                               "archive packages for MySQL 9.7")
        if strategy not in BACKUP_STRATEGIES:
            return super().backup(strategy, dest, parent)
        if parent is not None:
            raise NotSupported(f"{strategy} backups are full backups, not incremental")
        self.runtime.path(str(dest)).mkdir(parents=True, exist_ok=True)
        if strategy == "mysqldump":
            return self._dump(dest)
        return self._clone(dest)

    def _dump(self, dest: Path) -> Backup:
        with self.client() as c:
            databases = c.list_databases()
        argv = [self.tool("mysqldump"), f"--defaults-file={self.base}/client.cnf",
                "--single-transaction", "--routines", "--triggers", "--events",
                "--source-data=2", "--set-gtid-purged=ON", "--databases", *databases]
        text = ""
        if databases:
            text = self.runtime.run(argv, timeout=self.timeouts.command).stdout.decode()
        self.runtime.path(f"{dest}/dump.sql").write_text(text)
        return Backup("mysqldump", dest, meta={"databases": databases, **dump_meta(text)})

    def _clone(self, dest: Path) -> Backup:
        target = f"{dest}/data"       # mysqld writes the copy itself, in its guest
        with self.client() as c, self.client() as lock:
            if not c.query("SELECT 1 FROM information_schema.PLUGINS "
                           "WHERE PLUGIN_NAME='clone' AND PLUGIN_STATUS='ACTIVE'"):
                try:
                    c.query("INSTALL PLUGIN clone SONAME 'mysql_clone.so'")
                except pymysql.MySQLError as exc:
                    raise NotSupported(f"this mysqld has no clone plugin ({exc})") from None
            # a local clone records no binlog position: hold writes while it
            # copies so the position read here is the copy's
            lock.query("FLUSH TABLES WITH READ LOCK")
            try:
                binlog_file, binlog_pos = binlog_status(lock)
                (gtids,), = lock.query("SELECT @@GLOBAL.gtid_executed")
                c.query(f"CLONE LOCAL DATA DIRECTORY = '{target}'")
            finally:
                lock.query("UNLOCK TABLES")
        meta = {"binlog_file": binlog_file, "binlog_pos": binlog_pos,
                "gtid_executed": gtids.replace("\n", "")}
        return Backup("clone", dest, meta=meta)

    def restore(self, backup: Backup) -> None:
        """Seed this new server from backup and start it."""
        if backup.strategy == "mysqldump":
            self.start()        # a fresh server of its own, then load the dump
            self.load_dump(backup)
            return
        if backup.strategy != "clone":
            return super().restore(backup)
        if self._initialised:
            raise EngineError("a clone is restored into a new server, before it starts")
        self.initialise(fresh=False)
        shutil.copytree(self.runtime.path(f"{backup.path}/data"),
                        self.runtime.path(self.datadir), symlinks=True)
        auto = self.runtime.path(f"{self.datadir}/auto.cnf")
        if auto.exists():
            auto.unlink()        # a copy must get its own server_uuid
        self._own(self.datadir)
        self.start()

    def _own(self, guest_path: str) -> None:
        user = getattr(self.runtime, "service_user", "")
        owner = [f"{user}:{user}"] if user else [f"--reference={self.base}"]
        self.runtime.run(["chown", "-R", *owner, guest_path], timeout=60, as_root=True)

    def load_dump(self, backup: Backup) -> None:
        text = self.runtime.path(f"{backup.path}/dump.sql").read_text()
        if "GTID_PURGED" in text:   # GTID_PURGED needs an empty gtid_executed
            self._reset_binlogs()
        # not binlogged: seeded data is the primary's, not this server's own
        self.runtime.run([self.tool("mysql"), f"--defaults-file={self.base}/client.cnf",
                          "--init-command=SET sql_log_bin = 0"],
                         input=text.encode(), timeout=self.timeouts.command)

    def _reset_binlogs(self) -> None:
        with self.client() as c:
            try:
                c.query("RESET BINARY LOGS AND GTIDS")
            except pymysql.err.ProgrammingError:      # before 8.4
                c.query("RESET MASTER")

    # replication ---------------------------------------------------------------
    def replication_user(self) -> Credentials:
        """(Re)create the account replicas log in with, on this primary."""
        creds = Credentials(REPLICATION_USER, random_password())
        with self.client() as c:
            c.query("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s",
                    (creds.user, creds.password))
            c.query("ALTER USER %s@'%%' IDENTIFIED BY %s", (creds.user, creds.password))
            c.query("GRANT REPLICATION SLAVE ON *.* TO %s@'%%'", (creds.user,))
        self.repl_creds = creds
        return creds

    def attach_replica(self, replica, strategy: str, backup: Backup) -> None:
        if strategy not in REPLICATION_STRATEGIES:
            return super().attach_replica(replica, strategy, backup)
        if not replica.running():
            replica.restore(backup)
            replica.start()
        position = None
        if strategy == "mysql_binlog":
            if "binlog_file" not in backup.meta:
                raise EngineError(f"the {backup.strategy} backup recorded no binlog position")
            position = (backup.meta["binlog_file"], backup.meta["binlog_pos"])
        replica._replicate_from(self, position)

    def _replicate_from(self, primary, position: tuple[str, int] | None) -> None:
        creds = primary.replication_user()
        source = ("SOURCE_AUTO_POSITION=1" if position is None else
                  "SOURCE_AUTO_POSITION=0, SOURCE_LOG_FILE=%s, SOURCE_LOG_POS=%s")
        args = (primary.runtime.address, primary.port, creds.user, creds.password,
                *(position or ()))
        self.settings["super_read_only"] = "ON"     # kept across restarts
        self.write_config()
        with self.client() as c:
            c.query("SET GLOBAL super_read_only = ON")
            c.query("STOP REPLICA")
            c.query("CHANGE REPLICATION SOURCE TO SOURCE_HOST=%s, SOURCE_PORT=%s, "
                    "SOURCE_USER=%s, SOURCE_PASSWORD=%s, GET_SOURCE_PUBLIC_KEY=1, "
                    f"SOURCE_CONNECT_RETRY=1, {source}", args)
            c.query("START REPLICA")
        wait_for(self._replicating, timeout=self.timeouts.replication,
                 what=f"replica {self.runtime.address}:{self.port} connecting to "
                      f"{primary.runtime.address}:{primary.port}", alive=self.running)

    def _replica_status(self) -> dict:
        with self.client() as c:
            rows = dict_query(c, "SHOW REPLICA STATUS")
        return rows[0] if rows else {}

    def _replicating(self) -> bool:
        status = self._replica_status()
        for kind in ("IO", "SQL"):
            if status.get(f"Last_{kind}_Errno"):
                raise EngineError(f"replication {kind} thread failed: "
                                  f"{status[f'Last_{kind}_Error']}")
        return (status.get("Replica_IO_Running") == "Yes"
                and status.get("Replica_SQL_Running") == "Yes")

    def replication_position(self) -> int:
        """How many transactions this server has applied (its GTID set's size)."""
        with self.client() as c:
            (executed,), = c.query("SELECT @@GLOBAL.gtid_executed")
        return gtid_count(executed)

    def replication_caught_up(self, primary) -> bool:
        if not self._replicating():
            return False
        with primary.client() as p:
            (executed,), = p.query("SELECT @@GLOBAL.gtid_executed")
        with self.client() as c:
            (subset,), = c.query("SELECT GTID_SUBSET(%s, @@GLOBAL.gtid_executed)",
                                 (executed,))
        return bool(subset)

    def _standalone(self) -> None:
        self.settings.pop("super_read_only", None)
        self.write_config()
        with self.client() as c:
            c.query("STOP REPLICA")
            c.query("RESET REPLICA ALL")
            c.query("SET GLOBAL super_read_only = OFF")
            c.query("SET GLOBAL read_only = OFF")
            self._promoted_at = binlog_status(c)

    def promote(self) -> None:
        self._standalone()

    def detach(self) -> None:
        self._standalone()

    def follow(self, primary, strategy: str) -> None:
        if strategy not in REPLICATION_STRATEGIES:
            return super().follow(primary, strategy)
        position = None
        if strategy == "mysql_binlog":
            # where the new primary stood when it took over: everything this
            # server lacks was written there after that point
            position = primary._promoted_at
            if position is None:
                with primary.client() as p:
                    position = binlog_status(p)
        self._replicate_from(primary, position)

    def read_only(self) -> bool:
        with self.client() as c:
            (value,), = c.query("SELECT @@GLOBAL.read_only")
        return bool(value)


