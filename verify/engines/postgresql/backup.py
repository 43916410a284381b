"""PostgreSQL backup strategies and restore into a new server.

- pg_basebackup: a physical base backup (pg_basebackup -Fp -Xs).
- pg_basebackup_incremental: Trove's PgBaseBackupIncremental idea on PG 15
  (which has no incremental base backups): without a parent, a base backup;
  with one, the WAL archived since the chain's base, up to a forced segment
  switch. Restore = the base + archive recovery through every link's WAL.
- pg_dump: logical, pg_dumpall --globals-only + pg_dump -Fc per database.

Tools that write into the harness's backup store run as root; what the
server must read is copied into its own directory and handed to its user.
"""

from __future__ import annotations

import re
from pathlib import Path

from verify.engines.base import wait_for
from verify.engines.capabilities import Backup
from verify.errors import NotSupported

PHYSICAL, INCREMENTAL, LOGICAL = "pg_basebackup", "pg_basebackup_incremental", "pg_dump"
FULL_PHYSICAL = (PHYSICAL, INCREMENTAL)
_SEGMENT = re.compile(r"^[0-9A-F]{24}$")


class PostgreSQLBackupOps:
    """Mixed into PostgreSQLServer."""

    @property
    def archive_dir(self) -> str:
        return f"{self.base}/wal_archive"

    def archive_settings(self) -> list[str]:
        # every completed WAL segment is kept: incremental backups are made of them
        return ["archive_mode = on",
                f"archive_command = 'test ! -f {self.archive_dir}/%f && "
                f"cp %p {self.archive_dir}/%f'"]

    def _guest_file(self, path: Path) -> Path:
        """A guest path as the harness reads it (backups live in guest paths)."""
        return self.runtime.path(str(path))

    def _as_root(self, argv: list[str]) -> None:
        self.runtime.run(argv, timeout=self.timeouts.command, as_root=True)

    def _tool_args(self) -> tuple[list[str], dict]:
        return (["-h", self.runtime.address, "-p", str(self.port), "-U", self.admin.user,
                 "--no-password"], {"PGPASSWORD": self.admin.password})

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if parent is not None and strategy != INCREMENTAL:
            raise NotSupported(f"{strategy} makes full backups only; incremental chains are "
                               f"the {INCREMENTAL} strategy")
        self.runtime.make_dirs(str(dest))
        if strategy in FULL_PHYSICAL and parent is None:
            return self._base_backup(strategy, dest)
        if strategy == INCREMENTAL:
            if parent.strategy not in FULL_PHYSICAL:
                raise NotSupported(f"an incremental base backup cannot build on a "
                                   f"{parent.strategy} backup")
            return self._wal_increment(dest, parent)
        if strategy == LOGICAL:
            return self._dump(dest)
        raise NotSupported(f"PostgreSQL has no backup strategy {strategy!r}")

    def _base_backup(self, strategy: str, dest: Path) -> Backup:
        args, env = self._tool_args()
        self.runtime.run([self.tool("pg_basebackup"), *args, "-D", str(dest / "data"),
                          "-Fp", "-Xs", "--checkpoint=fast"],
                         env=env, timeout=self.timeouts.command, as_root=True)
        label = self._guest_file(dest / "data" / "backup_label").read_text()
        start = _label_field(label, "START WAL LOCATION")
        segment = start.split("file ")[-1].rstrip(")") if "file " in start else ""
        return Backup(strategy, dest, meta={"start_wal": start, "first_segment": segment,
                                            "last_segment": segment})

    def _wal_increment(self, dest: Path, parent: Backup) -> Backup:
        base = parent.chain()[0]
        with self.client() as c:
            (last,), = c.query("SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
            c.query("SELECT pg_switch_wal()")
        archived = self.runtime.path(self.archive_dir)
        wait_for(lambda: (archived / last).exists(), timeout=self.timeouts.command,
                 what=f"PostgreSQL archiving WAL segment {last}", alive=self.running)
        first = parent.meta["last_segment"]
        self.runtime.make_dirs(str(dest / "wal"))
        names = sorted(n.name for n in archived.iterdir()
                       if _SEGMENT.match(n.name) and first <= n.name <= last)
        for name in names:
            self._as_root(["cp", f"{self.archive_dir}/{name}", str(dest / "wal" / name)])
        return Backup(INCREMENTAL, dest, parent=parent,
                      meta={"first_segment": first, "last_segment": last,
                            "segments": len(names), "base": base.id or str(base.path)})

    def _dump(self, dest: Path) -> Backup:
        args, env = self._tool_args()
        proc = self.runtime.run([self.tool("pg_dumpall"), *args, "--globals-only"],
                                env=env, timeout=self.timeouts.command, as_root=True)
        self.runtime.write_file(str(dest / "globals.sql"),
                                _without_internal_roles(proc.stdout.decode()), mode=0o600)
        with self.client() as c:
            rows = c.query("SELECT datname FROM pg_database WHERE NOT datistemplate")
        databases = []
        for (db,) in rows:
            self.runtime.run([self.tool("pg_dump"), *args, "-Fc", "-d", db,
                              "-f", str(dest / f"{db}.dump")],
                             env=env, timeout=self.timeouts.command, as_root=True)
            databases.append(db)
        return Backup(LOGICAL, dest, meta={"databases": databases})

    # restore ------------------------------------------------------------------
    def restore(self, backup: Backup) -> None:
        self.restored_from = backup
        if backup.strategy in FULL_PHYSICAL:
            if self.running():
                self.stop()
            chain = backup.chain()
            self._seed_data(chain[0])
            if len(chain) > 1:
                self._prepare_archive_recovery(chain[1:])
            self.start()
            if len(chain) > 1:
                self.runtime.write_file(f"{self.data}/standby.conf", "", mode=0o600)
                self._as_root(["rm", "-rf", f"{self.base}/restore_wal"])
        elif backup.strategy == LOGICAL:
            if self.running():
                self._restore_logical(backup)
            else:
                self._pending_restore = backup     # applied once start() has run initdb
                self.start()
        else:
            raise NotSupported(f"PostgreSQL cannot restore a {backup.strategy} backup")

    def _prepare_archive_recovery(self, increments: list[Backup]) -> None:
        """Replay every increment's WAL on top of the base, then open."""
        wal = f"{self.base}/restore_wal"
        self.runtime.make_dirs(wal)
        for step in increments:
            for segment in sorted(self._guest_file(step.path / "wal").iterdir()):
                self._as_root(["cp", str(step.path / "wal" / segment.name),
                               f"{wal}/{segment.name}"])
        self._as_root(["chown", "-R", f"--reference={self.base}", wal])
        self.runtime.write_file(f"{self.data}/standby.conf",
                                f"restore_command = 'cp {wal}/%f %p'\n"
                                "recovery_target_action = 'promote'\n", mode=0o600)
        self.runtime.write_file(f"{self.data}/recovery.signal", "", mode=0o600)

    def _seed_data(self, backup: Backup) -> None:
        """Lay a physical copy down as this server's data directory."""
        self.runtime.make_dirs(self.socket_dir, f"{self.base}/log", self.archive_dir)
        target = self.data
        self._as_root(["rm", "-rf", target])
        self._as_root(["cp", "-a", str(backup.path / "data"), target])
        self._as_root(["chown", "-R", f"--reference={self.base}", target])
        self._as_root(["chmod", "0700", target])
        for stale in ("postmaster.pid", "standby.signal", "recovery.signal", "standby.conf"):
            self.runtime.path(f"{target}/{stale}").unlink(missing_ok=True)
        self._initialised = True
        self._adopt_admin = True

    def _restore_logical(self, backup: Backup) -> None:
        self.local_sql(self._guest_file(backup.path / "globals.sql").read_text())
        for db in backup.meta["databases"]:
            readable = f"{self.base}/restore-{db}.dump"
            self._as_root(["cp", str(backup.path / f"{db}.dump"), readable])
            self._as_root(["chown", f"--reference={self.base}", readable])
            args = [self.tool("pg_restore"), "-h", self.socket_dir, "-p", str(self.port),
                    "-U", self.admin.user, "--exit-on-error"]
            args += ["-d", "postgres", readable] if db == "postgres" else \
                ["--create", "-d", "postgres", readable]
            try:
                self.runtime.run(args, timeout=self.timeouts.command)
            finally:
                self.runtime.path(readable).unlink(missing_ok=True)


def _label_field(label: str, key: str) -> str:
    for line in label.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def _without_internal_roles(globals_sql: str) -> str:
    """The target has its own admin and replication roles: never overwrite them."""
    internal = ("os_admin", "replicator")
    keep = []
    for line in globals_sql.splitlines():
        if any(f"ROLE {r} " in line or f"ROLE {r};" in line for r in internal):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"
