"""Cassandra's backup (Trove's NodetoolSnapshot) and cluster (Trove's
``cassandra`` strategy) operations, mixed into CassandraServer."""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Sequence
from pathlib import Path

from verify.engines.base import Credentials, random_password, wait_for
from verify.engines.capabilities import Backup
from verify.errors import EngineError

SNAPSHOT = "nodetool_snapshot"
CLUSTER = "cassandra_cluster"
# Node-local state is not part of a backup: a restored instance is a new node
# with its own host id and tokens. Schema and roles travel with the data.
LOCAL_KEYSPACES = {"system", "system_traces", "system_distributed"}


def balanced_tokens(index: int, nodes: int, per_node: int) -> list[int]:
    """Murmur3 tokens for node index of nodes, interleaved around the ring."""
    step = 2 ** 64 // (nodes * per_node)
    return [-(2 ** 63) + (j * nodes + index) * step for j in range(per_node)]


class SnapshotOps:
    """Backup with `nodetool snapshot`, restore into a new node before its
    first start (the snapshot's sstables laid into its data directory)."""

    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        if strategy != SNAPSHOT or parent is not None:
            self._no(f"backup strategy {strategy}" + (" (incremental)" if parent else ""))
        tag = f"trove-verify-{random_password(8).lower()}"
        self.nodetool("snapshot", "-t", tag)          # flushes memtables first
        data = self.runtime.path(f"{self.base}/data")
        host_dest = self.runtime.path(str(dest))      # dest is a path in the guest
        host_dest.mkdir(parents=True, exist_ok=True)
        archive = host_dest / "snapshot.tar.gz"
        files = 0
        try:
            with tarfile.open(archive, "w:gz") as tar:
                for snap in sorted(data.glob(f"*/*/snapshots/{tag}")):
                    keyspace, table_dir = snap.parts[-4], snap.parts[-3]
                    if keyspace in LOCAL_KEYSPACES:
                        continue
                    for f in sorted(snap.iterdir()):
                        if f.is_file():
                            tar.add(f, arcname=f"{keyspace}/{table_dir}/{f.name}")
                            files += 1
        finally:
            self.nodetool("clearsnapshot", "-t", tag)
        if not files:
            raise EngineError(f"nodetool snapshot {tag} produced no files under {data}")
        with self.client() as c:
            keyspaces = c.list_databases()
        return Backup(strategy=strategy, path=dest,
                      meta={"tag": tag, "files": files, "keyspaces": keyspaces,
                            "engine_version": self.identity().version,
                            # roles travel inside system_auth: so does the admin
                            "admin_user": self.admin.user,
                            "admin_password": self.admin.password})

    def restore(self, backup: Backup) -> None:
        if backup.strategy != SNAPSHOT:
            self._no(f"restore from {backup.strategy}")
        archive = self.runtime.path(str(backup.path)) / "snapshot.tar.gz"
        if not archive.is_file():
            raise EngineError(f"backup {backup.path} holds no snapshot.tar.gz")
        self.write_config()
        staged = f"{self.base}/tmp/restore.tar.gz"
        shutil.copyfile(archive, self.runtime.path(staged))
        os.chmod(self.runtime.path(staged), 0o644)
        # extracted by the service user inside the guest, so it owns the files
        self.runtime.run(["tar", "-xzf", staged, "-C", f"{self.base}/data"],
                         timeout=self.timeouts.command)
        self.runtime.path(staged).unlink()
        self.admin = Credentials(backup.meta["admin_user"], backup.meta["admin_password"])
        self._initialised = True      # the restored roles include the admin
        self.start()

    # the snapshot strategy has no incremental form in this harness
    def backup_strategies(self) -> list[str]:
        return [SNAPSHOT]


class ClusterOps:
    """Nodes on distinct addresses share one storage port and cluster name;
    the first node seeds, the others bootstrap one at a time (Cassandra's
    consistent range movement)."""

    def _join_settings(self, node, seed, storage_port: int) -> None:
        if not node.runtime.port_free(storage_port):
            raise EngineError(f"storage port {storage_port} is taken on "
                              f"{node.runtime.bind_address}")
        node.cluster_name = seed.cluster_name
        node.seeds = [seed.runtime.address]
        node.storage_port = storage_port
        node.admin = seed.admin
        node.auto_bootstrap = True
        node._initialised = True      # roles come from the cluster

    def _common_storage_port(self, nodes: Sequence) -> int:
        for _ in range(50):
            port = nodes[0].runtime.free_port()
            if all(n.runtime.port_free(port) for n in nodes):
                return port
        raise EngineError("no storage port free on every node's address")

    def cluster_create(self, strategy: str, nodes: Sequence) -> None:
        if strategy != CLUSTER:
            self._no(f"cluster strategy {strategy}")
        if nodes[0] is not self:
            raise EngineError("cluster_create is called on the first node")
        port = self._common_storage_port(nodes)
        # Evenly interleaved tokens chosen up front: nodes bootstrapping at once
        # would otherwise allocate the same ones (a token collision).
        for i, node in enumerate(nodes):
            node.initial_tokens = balanced_tokens(i, len(nodes), node.num_tokens)
        self.storage_port = port
        self.seeds = [self.runtime.address]
        self.start()
        # Roles replicate to every node (up to 3); read and written at ONE so
        # that logins work while the other nodes are still joining.
        rf = min(3, len(nodes))
        with self.client() as c:
            c.query("ALTER KEYSPACE system_auth WITH replication = "
                    f"{{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")
        # A new cluster holds no data yet: the other nodes may bootstrap at
        # once (growing later is one node at a time, with streaming).
        for node in nodes[1:]:
            self._join_settings(node, self, port)
            node.simultaneous_join = True
            node.launch()
        for node in nodes[1:]:
            node.wait_ready(node.admin)
            node.simultaneous_join = False      # later restarts: the usual rule
        self._wait_members(len(nodes))

    def _repair_auth(self, nodes: Sequence) -> None:
        """Make every replica of system_auth hold every role before the ring
        changes. Roles are written at ONE (so logins work while nodes join),
        so a replica may have missed one; a joining node streams each range
        from a single replica and a leaving node hands on what it holds, so
        a missed role would then be missing on the new replica too, and that
        node refuses the login ("... and/or password are incorrect")."""
        with self.client() as c:
            rows = c.query("SELECT replication FROM system_schema.keyspaces "
                           "WHERE keyspace_name = 'system_auth'")
        rf = int(dict(rows[0][0]).get("replication_factor", 1)) if rows else 1
        # one node holding every range repairs them all; else each its primary ranges
        repairs = [(nodes[0], ("-full",))] if rf >= len(nodes) else \
            [(node, ("-full", "-pr")) for node in nodes]
        for node, how in repairs:
            _repair_retrying(node, how, self.timeouts.cluster)

    def cluster_grow(self, strategy: str, members: Sequence, joining: Sequence) -> None:
        if strategy != CLUSTER:
            self._no(f"growing a {strategy} cluster")
        seed = members[0]
        seed._repair_auth(members)
        for node in joining:
            self._join_settings(node, seed, seed.storage_port)
            # A node bootstraps with the schema it holds then; on a loaded host
            # gossip can be slow to bring it the cluster's, and it then streams
            # by its local defaults (system_auth at RF 1, no user keyspaces) and
            # refuses every role once the schema arrives. So it starts outside
            # the ring, waits for the cluster's schema, and only then joins.
            node.join_later = True
            try:
                node.start()
                node._wait_schema(seed)
                node.nodetool("join", timeout=self.timeouts.cluster)   # streams, then returns
            finally:
                node.join_later = False
        seed._wait_members(len(members) + len(joining))

    def _schema_version(self) -> str:
        with self.client() as c:
            return str(c.query("SELECT schema_version FROM system.local")[0][0])

    def _wait_schema(self, seed) -> None:
        wait_for(lambda: self._schema_version() == seed._schema_version(),
                 timeout=self.timeouts.cluster, interval=0.5,
                 what=f"Cassandra on {self.runtime.address} holding the cluster's schema")

    def cluster_shrink(self, strategy: str, members: Sequence, leaving: Sequence) -> None:
        if strategy != CLUSTER:
            self._no(f"shrinking a {strategy} cluster")
        members[0]._repair_auth([*members, *leaving])
        for node in leaving:
            # streams the node's ranges to the remaining replicas, then leaves
            node.nodetool("decommission", timeout=self.timeouts.cluster)
            node.stop()
        members[0]._wait_members(len(members))

    def cluster_size(self) -> int:
        with self.client() as c:
            return c.node_count()

    def _wait_members(self, expected: int) -> None:
        wait_for(lambda: self.cluster_size() == expected, timeout=self.timeouts.cluster,
                 interval=0.5, what=f"Cassandra cluster of {expected} nodes")


def _jmx_dropped(exc: BaseException) -> bool:
    return isinstance(exc, EngineError) and "JMX connection closed" in str(exc)


def _repair_retrying(node, how: tuple[str, ...], timeout: float) -> None:
    """nodetool follows a repair over JMX notifications; on a loaded machine
    that connection drops ("JMX connection closed", seen in CI) while the
    repair itself goes on. A repair is idempotent: run it again, at most
    three times in all, and fail with nodetool's words if it still drops."""
    import tenacity

    retrying = tenacity.Retrying(retry=tenacity.retry_if_exception(_jmx_dropped),
                                 stop=tenacity.stop_after_attempt(3),
                                 wait=tenacity.wait_fixed(2), reraise=True)
    for attempt in retrying:
        with attempt:
            node.nodetool("repair", *how, "system_auth", timeout=timeout)
