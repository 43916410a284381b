"""MySQL Group Replication as a cluster strategy, multi-primary (every node
takes writes, as Trove's galera clusters do). Distributed recovery copies the
group's binary log to a joiner through the group_replication_recovery channel.
Mixed into verify.engines.mysql.MySQLServer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from verify.engines.base import Credentials, random_password, wait_for
from verify.errors import EngineError, NotSupported

STRATEGY = "group_replication"
RECOVERY_USER = "gr_recovery"
GROUP_PORT = 33061


def _allowlist(seeds: list[str]) -> str:
    """Only the members may speak to the group (AUTOMATIC would admit just
    this guest's own subnet, and guests each have their own)."""
    return ",".join(sorted({s.rsplit(":", 1)[0] for s in seeds} | {"127.0.0.1"}))


class GroupOps:
    """`self` is a MySQLServer; self.group is None outside a cluster."""

    group: dict | None = None

    def _group_lines(self) -> list[str]:
        if self.group is None:
            return []
        return [
            # members find each other (and recovery its donor) by these
            f"report_host={self.runtime.address}",
            f"report_port={self.port}",
            "plugin_load_add=group_replication.so",
            f"group_replication_group_name={self.group['name']}",
            "group_replication_start_on_boot=OFF",
            f"group_replication_local_address={self.group['local']}",
            f"group_replication_group_seeds={','.join(self.group['seeds'])}",
            "group_replication_bootstrap_group=OFF",
            "group_replication_single_primary_mode=OFF",
            "group_replication_enforce_update_everywhere_checks=ON",
            "group_replication_recovery_get_public_key=ON",
            "group_replication_message_cache_size=134217728",   # the minimum, not 1 GB
            f"group_replication_ip_allowlist={_allowlist(self.group['seeds'])}",
        ]

    def _group_address(self) -> str:
        port = self.runtime.free_port() or GROUP_PORT
        return f"{self.runtime.address}:{port}"

    def _check(self, strategy: str) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"MySQL has no cluster strategy {strategy!r}")

    def _join(self, name: str, seeds: list[str], recovery: Credentials,
              bootstrap: bool = False) -> None:
        """Start this new server as a member of group name."""
        self.group["name"], self.group["seeds"] = name, seeds
        self.start()
        with self.client() as c:
            # each member's own accounts stay out of the group's history
            c.query("SET SESSION sql_log_bin = 0")
            c.query("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s",
                    (recovery.user, recovery.password))
            c.query("GRANT REPLICATION SLAVE, GROUP_REPLICATION_STREAM, CONNECTION_ADMIN, "
                    "BACKUP_ADMIN ON *.* TO %s@'%%'", (recovery.user,))
            c.query("SET SESSION sql_log_bin = 1")
            c.query("RESET BINARY LOGS AND GTIDS")
            if bootstrap:
                c.query("SET GLOBAL group_replication_bootstrap_group = ON")
            try:
                c.query("START GROUP_REPLICATION USER = %s, PASSWORD = %s",
                        (recovery.user, recovery.password))
            finally:
                if bootstrap:
                    c.query("SET GLOBAL group_replication_bootstrap_group = OFF")
        wait_for(self._online, timeout=self.timeouts.cluster,
                 what=f"MySQL {self.runtime.address}:{self.port} joining group {name}",
                 alive=self.running)

    def _member_state(self) -> str:
        rows = self.query("SELECT MEMBER_STATE FROM performance_schema.replication_group_members "
                          "WHERE MEMBER_ID = @@server_uuid")
        return rows[0][0] if rows else "OFFLINE"

    def _online(self) -> bool:
        state = self._member_state()
        if state == "ERROR":
            raise EngineError(f"MySQL {self.runtime.address}:{self.port} failed to join the "
                              "group (see its error log)")
        return state == "ONLINE"

    def cluster_create(self, strategy: str, nodes: Sequence[GroupOps]) -> None:
        self._check(strategy)
        name = str(uuid.uuid4())
        recovery = Credentials(RECOVERY_USER, random_password())
        for node in nodes:
            node.group = {"local": node._group_address(), "recovery": recovery}
        seeds = [n.group["local"] for n in nodes]
        self._join(name, seeds, recovery, bootstrap=True)
        for node in nodes[1:]:
            node._join(name, seeds, recovery)

    def cluster_grow(self, strategy: str, members: Sequence[GroupOps],
                     joining: Sequence[GroupOps]) -> None:
        self._check(strategy)
        group = members[0].group
        for node in joining:
            node.group = {"local": node._group_address(), "recovery": group["recovery"]}
        seeds = group["seeds"] + [n.group["local"] for n in joining]
        for node in members:     # let the new members in, and find them on a restart
            node.group["seeds"] = seeds
            node.query("SET GLOBAL group_replication_ip_allowlist = %s", (_allowlist(seeds),))
            node.query("SET GLOBAL group_replication_group_seeds = %s", (",".join(seeds),))
            node.write_config()
        for node in joining:
            node._join(group["name"], seeds, group["recovery"])

    def cluster_shrink(self, strategy: str, members: Sequence[GroupOps],
                       leaving: Sequence[GroupOps]) -> None:
        self._check(strategy)
        for node in leaving:
            node.query("STOP GROUP_REPLICATION")
            node.stop()
        expected = len(members)
        wait_for(lambda: all(m.cluster_size() == expected for m in members),
                 timeout=self.timeouts.cluster, what=f"the group shrinking to {expected}")

    def cluster_size(self) -> int:
        (count,), = self.query("SELECT COUNT(*) FROM performance_schema."
                               "replication_group_members WHERE MEMBER_STATE = 'ONLINE'")
        return int(count)
