"""Trove's clusters, mixed into TroveBackend: create, grow, shrink and
delete through Trove's cluster API, each member an Instance the harness
reaches through the engine's own client, and the cluster's size as the
engine reports it."""

from __future__ import annotations

import time

from verify import deadline
from verify.backends.base import FLAVORS, Cluster, Instance
from verify.backends.trove_answers import TroveAnswered, agent_error, agent_lacks
from verify.errors import EngineError, NotSupported, WaitTimeout

MYSQL_FAMILY = ("mysql", "mariadb")


class TroveClusters:
    """Needs self.trove, self.timeouts, self.volume_support, self.flavor_for,
    self._trove_errors, self._learn_address, self._wait_gone, self._query
    and self.agent_log."""

    def _member_spec(self) -> dict:
        member: dict = {"flavorRef": self.flavor_for("small")}
        if self.volume_support:     # Trove refuses a volume where it runs without them
            member["volume"] = {"size": 1}
        return member

    def create_cluster(self, datastore: str, version: str, strategy: str, size: int, *,
                       name: str = "cluster") -> Cluster:
        try:
            with self._trove_errors(f"create {datastore} cluster"):
                created = self.trove.clusters.create(f"verify-{name}"[:80], datastore,
                                                     version,
                                                     instances=[self._member_spec()] * size)
        except TroveAnswered as exc:
            if self.volume_support or exc.code != 500:
                raise
            # seen with Trove 26's galera API: its quota check counts volumes
            # and fails on None where trove_volume_support is off
            raise NotSupported(f"needs volumes: Trove {self.trove_version()} fails a "
                               f"cluster create in a deployment without volumes, as this "
                               f"one runs ({exc})") from None
        cluster = Cluster(id=created.id, name=name, datastore=datastore, version=version,
                          strategy=strategy)
        try:
            self._settle(cluster)
        except BaseException:
            try:
                self.delete_cluster(cluster)    # nothing left running on failure
            except Exception:       # the run's teardown and the box have the rest
                pass
            raise
        return cluster

    def _settle(self, cluster: Cluster) -> list[Instance]:
        """Wait for the cluster's task to end; its members as Trove lists them
        now (the ones new to the harness returned)."""
        info = self.wait_cluster(cluster.id)
        cluster.extra["record"] = info
        known = {i.id: i for i in cluster.instances}
        members, new = [], []
        for listed in info.get("instances", []):
            inst = known.get(listed["id"])
            if inst is None:
                inst = Instance(id=listed["id"], name=listed.get("name", ""),
                                datastore=cluster.datastore, version=cluster.version,
                                flavor=FLAVORS["small"], volume_gb=1, guest="trove",
                                extra={"cluster": cluster.id})
                record = self.trove.instances.get(inst.id)._info
                inst.status = record.get("status", "")
                self._learn_address(inst, record)
                new.append(inst)
            members.append(inst)
        cluster.instances = members
        failed = [i for i in members if i.status in ("ERROR", "FAILED")]
        if failed:
            raise self._members_failed(cluster, failed)
        return new

    def _members_failed(self, cluster: Cluster, failed: list[Instance]) -> Exception:
        """Why members went ERROR: Trove's fault and, in the box, what any
        member's guest agent failed (the task manager marks every member
        ERROR when one of its calls fails, not only the member it called). A
        method the task manager calls and the datastore's agent lacks is
        Trove not implementing the cluster."""
        said = []
        for inst in failed:
            fault = (self.trove.instances.get(inst.id)._info.get("fault") or {}).get("message")
            said.append(f"{inst.id}: {fault or 'no fault recorded'}")
        for inst in cluster.instances:
            log = self.agent_log(inst)
            agent = agent_error(log, 0) if log is not None else None
            if agent:
                said.append(f"the guest agent of {inst.id}: {agent}")
        text = " | ".join(said)
        method = agent_lacks(text)
        if method:
            return NotSupported(f"not implemented by Trove {self.trove_version()}: "
                                f"{cluster.datastore} {cluster.strategy} cluster: the task "
                                f"manager calls {method}, which {cluster.datastore}'s guest "
                                f"agent does not have ({text})")
        return EngineError(f"Trove cluster {cluster.id}: {len(failed)} member(s) went ERROR: "
                           f"{text}")

    def wait_cluster(self, cluster_id: str) -> dict:
        end = time.monotonic() + self.timeouts.bound("trove_create")
        interval = 0.5
        while True:
            info = self.trove.clusters.get(cluster_id)._info
            task = (info.get("task") or {}).get("name", "")
            if task == "NONE":
                return info
            if "ERROR" in task or "FAIL" in task:
                raise EngineError(f"Trove cluster {cluster_id} went {task}")
            if deadline.over(end):
                raise WaitTimeout(deadline.cut_short(f"Trove cluster {cluster_id}") or
                                  f"Trove cluster {cluster_id} still {task} after "
                                  f"{self.timeouts.trove_create:.0f}s")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def grow_cluster(self, cluster: Cluster, count: int = 1) -> list[Instance]:
        with self._trove_errors(f"grow cluster {cluster.id}"):
            self.trove.clusters.grow(cluster.id, instances=[self._member_spec()] * count)
        return self._settle(cluster)

    def shrink_cluster(self, cluster: Cluster, instances: list[Instance]) -> None:
        with self._trove_errors(f"shrink cluster {cluster.id}"):
            self.trove.clusters.shrink(cluster.id, [{"id": i.id} for i in instances])
        self._settle(cluster)
        for inst in instances:
            self._wait_gone(lambda i=inst: self.trove.instances.get(i.id),
                            f"Trove instance {inst.id} leaving cluster {cluster.id}")

    def cluster_size(self, instance: Instance) -> int:
        """The members the engine on instance counts (Galera's wsrep_cluster_size)."""
        if instance.datastore not in MYSQL_FAMILY:
            raise NotSupported(f"the trove backend reads no cluster size from "
                               f"{instance.datastore} (only Galera's)")
        rows = self._query(instance, "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")
        if not rows:
            raise EngineError(f"{instance.id} reports no wsrep_cluster_size: not a Galera node")
        return int(rows[0][1])

    def delete_cluster(self, cluster: Cluster) -> None:
        with self._trove_errors("delete cluster"):
            self.trove.clusters.delete(cluster.id)
        self._wait_gone(lambda: self.trove.clusters.get(cluster.id),
                        f"Trove cluster {cluster.id} deletion")
