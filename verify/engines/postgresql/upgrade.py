"""PostgreSQL upgrades in place (Trove's `instance upgrade`): the runtime
already runs the new version's binaries over the old data (a namespace guest
booted from the next version's image, the data volume kept), with the
previous major's binaries layered beside them for pg_upgrade."""

from __future__ import annotations

from verify.errors import EngineError

# pg_upgrade needs the old cluster's WAL segment size: every cluster gets this
WAL_SEGMENT_MB = 1


def bin_dir(version: str) -> str:
    """Debian keeps each major version's server binaries apart."""
    return f"/usr/lib/postgresql/{version.split('.')[0]}/bin"


class UpgradeOps:
    """Mixed into PostgreSQLServer."""

    def upgrade_to(self, version: str) -> None:
        """pg_upgrade from the old major to version's. Both majors' binaries must
        be in the runtime (the guest layers the previous image under the new one)."""
        old_bin, new_bin = self.bin, bin_dir(version)
        if not self.runtime.path(f"{old_bin}/postgres").exists():
            raise EngineError(f"pg_upgrade needs the old binaries in {old_bin}, absent in the "
                              "guest")
        major = version.split(".")[0]
        old_data, new_data = self.data, f"{self.base}/data-{major}"
        pwfile = f"{self.base}/pwfile"
        self.runtime.make_dirs(new_data, f"{self.base}/upgrade")
        self.runtime.write_file(pwfile, self.admin.password + "\n", mode=0o600)
        try:
            self.runtime.run([f"{new_bin}/initdb", "-D", new_data, "-U", self.admin.user,
                              f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8", "--no-instructions",
                              # pg_upgrade needs the old cluster's WAL segment size
                              f"--wal-segsize={WAL_SEGMENT_MB}"],
                             timeout=self.timeouts.command)
        finally:
            self.runtime.path(pwfile).unlink(missing_ok=True)
        # pg_upgrade writes its scripts into the working directory: use our own
        self.runtime.run(["sh", "-c", 'cd "$0" && exec "$@"', f"{self.base}/upgrade",
                          f"{new_bin}/pg_upgrade", "-b", old_bin, "-B", new_bin,
                          "-d", old_data, "-D", new_data, "-U", self.admin.user,
                          "-s", self.socket_dir, "-p", "50432", "-P", "50433"],
                         timeout=self.timeouts.command,
                         env={"PGPASSWORD": self.admin.password})
        # the upgraded cluster takes the data directory's place; the old one is kept
        # aside on the volume as pg_upgrade leaves it (Trove deletes it later)
        old_aside = f"{self.base}/data-previous"
        self.runtime.run(["mv", old_data, old_aside], timeout=self.timeouts.command)
        self.runtime.run(["mv", new_data, old_data], timeout=self.timeouts.command)
        self.version, self.bin = version, new_bin
        self.start()
