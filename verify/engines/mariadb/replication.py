"""MariaDB GTID replication (Trove's MariaDBGTIDReplication): a replica seeded
from a mariabackup starts at the backup's GTID; promote; the old primary
follows the new one from its own gtid_current_pos. Mixed into MariaDBServer."""

from __future__ import annotations

from verify.engines.base import Credentials, random_password, wait_for
from verify.errors import EngineError, NotSupported

STRATEGY = "mariadb_gtid"
REPL_USER = "replicator"


def gtid_sequence(position: str, domain: str = "0") -> int:
    """The sequence number of domain in a GTID list such as '0-17-42,1-3-9'."""
    for gtid in filter(None, (p.strip() for p in position.split(","))):
        dom, _server, seq = gtid.split("-")
        if dom == domain:
            return int(seq)
    return 0


class ReplicationOps:
    """Needs from MariaDBServer: query(), runtime, port, settings, timeouts."""

    repl: Credentials | None = None

    def _check(self, strategy: str) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"MariaDB has no replication strategy {strategy!r}")

    def _ensure_replicator(self) -> Credentials:
        if self.repl is None:
            self.repl = Credentials(REPL_USER, random_password())
            self.query("CREATE OR REPLACE USER %s@'%%' IDENTIFIED BY %s",
                       (REPL_USER, self.repl.password))
            self.query(f"GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'%'")
        return self.repl

    def _replicate_from(self, source, *, gtid: str | None, use: str) -> None:
        self.repl = source.repl
        with self.client() as c:
            c.query("STOP SLAVE")
            if gtid is not None:
                c.query("SET GLOBAL gtid_slave_pos = %s", (gtid,))
            c.query("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, "
                    f"MASTER_PASSWORD=%s, MASTER_CONNECT_RETRY=1, MASTER_USE_GTID={use}",
                    (source.runtime.address, source.port, self.repl.user,
                     self.repl.password))
            c.query("SET GLOBAL read_only = ON")
            c.query("START SLAVE")
        self.settings["read_only"] = "ON"
        self.write_config()
        wait_for(self._replicating, timeout=self.timeouts.replication,
                 what=f"replica on port {self.port} connecting to port {source.port}",
                 interval=0.1)

    def _slave_status(self) -> dict:
        with self.client() as c:
            with c.conn.cursor() as cur:
                cur.execute("SHOW SLAVE STATUS")
                row = cur.fetchone()
                if row is None:
                    return {}
                return dict(zip([d[0] for d in cur.description], row, strict=True))

    def _replicating(self) -> bool:
        status = self._slave_status()
        error = status.get("Last_IO_Error") or status.get("Last_SQL_Error")
        if status.get("Slave_SQL_Running") == "No" and error:
            raise EngineError(f"replication stopped: {error}")
        return status.get("Slave_IO_Running") == "Yes" and \
            status.get("Slave_SQL_Running") == "Yes"

    def attach_replica(self, replica, strategy: str, backup) -> None:
        self._check(strategy)
        self._ensure_replicator()
        replica._replicate_from(self, gtid=backup.meta.get("gtid", ""), use="slave_pos")

    def _standalone(self) -> None:
        with self.client() as c:
            c.query("STOP SLAVE")
            c.query("RESET SLAVE ALL")
            c.query("SET GLOBAL read_only = OFF")
        self.settings.pop("read_only", None)
        self.write_config()

    def promote(self) -> None:
        self._standalone()

    def detach(self) -> None:
        self._standalone()

    def follow(self, primary, strategy: str) -> None:
        self._check(strategy)
        primary._ensure_replicator()
        # the old primary already holds everything up to its own position
        self._replicate_from(primary, gtid=None, use="current_pos")

    def read_only(self) -> bool:
        return bool(int(self.query("SELECT @@GLOBAL.read_only")[0][0]))

    def replication_position(self) -> int:
        return gtid_sequence(self.query("SELECT @@gtid_current_pos")[0][0])
