"""Clusters, per named strategy: create, write on one node and read on
another, grow by one, shrink back, no data lost."""

from __future__ import annotations

from verify.engines.base import wait_for
from verify.scenarios.base import ScenarioTest, scenario

SIZE = 3


class ClusterTest(ScenarioTest):

    def _size_seen(self, cluster, size: int) -> None:
        # a backend that cannot read the size skips here, not after the wait
        self.supported(self.backend.cluster_size, cluster.instances[0])
        for inst in cluster.instances:
            wait_for(lambda inst=inst: self.backend.cluster_size(inst) == size,
                     timeout=self.ctx.timeouts.cluster, what=f"{inst.id} seeing {size} nodes")

    @scenario(id="cluster.create_grow_shrink", capability="cluster",
              tier="technical-preview", strategies="cluster", cost=10)
    def test_create_grow_shrink(self):
        cluster = self.supported(self.backend.create_cluster, self.datastore, self.version,
                                 self.strategy, SIZE)
        self.addCleanup(self._delete_cluster, cluster)
        self.record_identity(self.backend.identity(cluster.instances[0]))
        self._size_seen(cluster, SIZE)
        first, other = cluster.instances[0], cluster.instances[1]
        database, creds = self.data_target(first)
        created = self.sample_items(tag="created")
        self.write(first, creds, database, created)
        self.eventually_items(other, creds, database, created, "a write seen on another node")

        (joined,) = self.supported(self.backend.grow_cluster, cluster, 1)
        self._size_seen(cluster, SIZE + 1)
        self.eventually_items(joined, creds, database, created, "data on the joined node")
        grown = self.sample_items(tag="grown")
        self.write(joined, creds, database, grown)

        self.supported(self.backend.shrink_cluster, cluster, [cluster.instances[1]])
        self._size_seen(cluster, SIZE)
        for inst in cluster.instances:
            self.eventually_items(inst, creds, database, {**created, **grown},
                                  f"data intact on {inst.id} after the shrink")

    def _delete_cluster(self, cluster) -> None:
        for inst in cluster.instances:
            try:
                self.backend.collect_logs(inst, self.log_dir)
            except Exception:
                pass
        self.backend.delete_cluster(cluster)
