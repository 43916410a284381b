"""MariaDB backup strategies: mariabackup (full), mariabackup_incremental
(chained to a parent by LSN) and mariadb_dump (logical), with restore into a
new, not yet started server. Mixed into MariaDBServer."""

from __future__ import annotations

from pathlib import Path

from verify.engines.capabilities import Backup
from verify.errors import EngineError, NotSupported

PHYSICAL = ("mariabackup", "mariabackup_incremental")
SYSTEM_DATABASES = ("information_schema", "mysql", "performance_schema", "sys")


# MariaDB 11 renamed mariabackup's files from xtrabackup_* to mariadb_backup_*
BINLOG_INFO_FILES = ("mariadb_backup_binlog_info", "xtrabackup_binlog_info")


def gtid_from(path: Path) -> str:
    """The GTID position mariabackup recorded (binlog info file, 3rd field)."""
    try:
        fields = path.read_text().split()
    except OSError:
        return ""
    return fields[2] if len(fields) >= 3 else ""


def gtid_in(target: Path) -> str:
    for name in BINLOG_INFO_FILES:
        if (target / name).is_file():
            return gtid_from(target / name)
    return ""


class BackupOps:
    """Needs from MariaDBServer: runtime, config_file, admin, root_password,
    timeouts, make_dirs(), write_config(), start(), query()."""

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if strategy == "mariadb_dump":
            if parent is not None:
                raise NotSupported("mariadb_dump makes full logical dumps only; incremental "
                                   "chains are the mariabackup_incremental strategy")
            return self._dump(dest)
        if strategy not in PHYSICAL:
            raise NotSupported(f"MariaDB has no backup strategy {strategy!r}")
        if parent is not None and strategy != "mariabackup_incremental":
            raise NotSupported(f"{strategy} makes full backups only; incremental chains are "
                               "the mariabackup_incremental strategy")
        if parent is not None and parent.strategy not in PHYSICAL:
            raise NotSupported(f"an incremental mariabackup cannot build on a "
                               f"{parent.strategy} backup")
        target = f"{dest}/data"
        argv = ["mariadb-backup", f"--defaults-file={self.config_file}", "--backup",
                f"--target-dir={target}"]
        if parent is not None:
            argv.append(f"--incremental-basedir={parent.path}/data")
        self.runtime.run(argv, timeout=self.timeouts.command)
        meta = {"admin": self.admin, "root_password": self.root_password,
                "gtid": gtid_in(self.runtime.path(target))}
        return Backup(strategy=strategy, path=dest, parent=parent, meta=meta)

    def _user_databases(self) -> list[str]:
        return sorted(r[0] for r in self.query("SHOW DATABASES")
                      if r[0] not in SYSTEM_DATABASES)

    def _dump(self, dest: Path) -> Backup:
        databases = self._user_databases()
        gtid = self.query("SELECT @@gtid_current_pos")[0][0]
        if databases:
            proc = self.runtime.run(
                ["mariadb-dump", f"--defaults-file={self.config_file}", "--single-transaction",
                 "--routines", "--events", "--triggers", "--databases", *databases],
                timeout=self.timeouts.command)
            dump = proc.stdout.decode()
        else:
            dump = "-- no user databases\n"
        self.runtime.write_file(f"{dest}/dump.sql", dump, mode=0o600)
        return Backup(strategy="mariadb_dump", path=dest,
                      meta={"databases": databases, "gtid": gtid})

    def restore(self, backup: Backup) -> None:
        if backup.strategy == "mariadb_dump":
            self.start()   # a fresh server of its own, then load the dump into it
            dump = self.runtime.path(f"{backup.path}/dump.sql").read_bytes()
            self.runtime.run(["mariadb", f"--defaults-file={self.config_file}"], input=dump,
                             timeout=self.timeouts.command)
            return
        if backup.strategy not in PHYSICAL:
            raise NotSupported(f"MariaDB cannot restore a {backup.strategy} backup")
        self._restore_physical(backup)

    def _restore_physical(self, backup: Backup) -> None:
        chain = backup.chain()
        work = f"{self.base}/restore"
        self.make_dirs()
        self.runtime.make_dirs(work)
        # prepare a copy: the stored backup stays usable for further restores
        self.runtime.run(["cp", "-a", f"{chain[0].path}/data/.", work],
                         timeout=self.timeouts.command)
        self.runtime.run(["mariadb-backup", "--no-defaults", "--prepare",
                          f"--target-dir={work}"], timeout=self.timeouts.command)
        for i, step in enumerate(chain[1:]):
            # --prepare renames files out of the incremental dir: give it a copy on
            # the target's filesystem (the store may be another one, and stays intact)
            inc = f"{self.base}/restore-inc{i}"
            self.runtime.make_dirs(inc)
            self.runtime.run(["cp", "-a", f"{step.path}/data/.", inc],
                             timeout=self.timeouts.command)
            self.runtime.run(["mariadb-backup", "--no-defaults", "--prepare",
                              f"--target-dir={work}", f"--incremental-dir={inc}"],
                             timeout=self.timeouts.command)
            self.runtime.run(["rm", "-rf", inc], timeout=self.timeouts.command)
        # the restored server answers to the source's accounts
        self.admin = backup.meta["admin"]
        self.root_password = backup.meta.get("root_password", "")
        self.write_config()
        self.runtime.run(["mariadb-backup", f"--defaults-file={self.config_file}",
                          "--move-back", f"--target-dir={work}"],
                         timeout=self.timeouts.command)
        self._initialised = True
        self.start()
        if not self.running():
            raise EngineError("MariaDB did not start from the restored backup")
