"""Faults during scenarios (Jepsen-style nemesis), each with its own evidence.

Every scenario writes through the engine's own client and keeps the list of
writes the server acknowledged; after the fault it checks that none is lost.
Every fault is healed in a cleanup, whatever happens. Faults the guest
cannot inject (network, volume on process guests) skip with the reason
before anything is created.
"""

from __future__ import annotations

import contextvars
import threading
import time

from verify.errors import NotSupported
from verify.scenarios.base import ScenarioTest, scenario


class _Writer:
    """Writes one row at a time; a row counts once the server acknowledged it."""

    def __init__(self, test: ScenarioTest, inst, creds, database):
        self.acked: list[str] = []
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._args = (test.backend, inst, creds, database)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backend, inst, creds, database = self._args
        try:
            with backend.connect(inst, creds, database) as client:
                i = 0
                while not self._stop.is_set():
                    key = f"ack-{i:06d}"
                    client.write_items({key: key})
                    self.acked.append(key)
                    i += 1
        except Exception as exc:  # the fault ends the writer; that is the point
            self.error = exc

    def wait_for_rows(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self, timeout: float) -> list[str]:
        self._stop.set()
        self._thread.join(timeout)
        return list(self.acked)


def _in_background(name: str, verb, *args) -> tuple[threading.Thread, dict]:
    """Start a backend verb that a fault will meet halfway. The outcome dict
    gets result ("completed" or "failed: ..."), seconds, and value (what the
    verb returned) or unsupported (its NotSupported). The thread runs in a
    copy of this context, so the verb's waits keep the scenario's deadline."""
    outcome: dict = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["value"] = verb(*args)
            outcome["result"] = "completed"
        except NotSupported as exc:
            outcome["unsupported"] = exc
        except Exception as exc:   # recorded: that is the evidence
            outcome["result"] = f"failed: {str(exc)[:400]}"
        outcome["seconds"] = round(time.monotonic() - started, 1)
    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=name,
                              daemon=True)
    thread.start()
    return thread, outcome


def _said(outcome: dict) -> dict:
    """An outcome as evidence: how it ended, not the objects it made."""
    return {k: v for k, v in outcome.items() if k in ("result", "seconds")}


# what a control plane reports for an instance whose server answers (Trove:
# status/operating_status)
HEALTHY = ("ACTIVE", "HEALTHY", "ACTIVE/HEALTHY", "ACTIVE/ACTIVE")
NOTICE_BOUND = 180.0    # seconds the control plane gets to notice a dead server


class NemesisTest(ScenarioTest):

    def lost(self, acked: list[str], inst, creds, database) -> list[str]:
        present = self.read(inst, creds, database)
        return [k for k in acked if present.get(k) != k]

    def statuses_until(self, inst, done, timeout: float) -> tuple[list[str], float | None]:
        """Poll what the control plane says of inst until done(status): the
        statuses seen in order, and after how many seconds (None: never).
        Where it reports the datastore apart from the server (Trove's
        operating_status), that is the status."""
        seen: list[str] = []
        started = time.monotonic()
        while True:
            shown = self.backend.show_instance(inst.id)
            status = (f"{shown.status}/{shown.operating_status}" if shown.operating_status
                      else shown.status)
            if not seen or seen[-1] != status:
                seen.append(status)
            if done(status):
                return seen, round(time.monotonic() - started, 1)
            if time.monotonic() - started > timeout:
                return seen, None
            time.sleep(0.5)

    def _revive_quietly(self, inst) -> None:
        """The kill's last-resort heal, below the control plane (a no-op when
        the server runs; declined where restart_instance is the heal)."""
        try:
            self.backend.revive_server(inst)
        except Exception:   # NotSupported, or the instance is gone: nothing to heal
            pass

    @scenario(id="nemesis.crash_noticed", capability="instance", tier="stable")
    def test_crash_noticed(self):
        """SIGKILL the server mid-writes and leave it down: the control plane
        must stop calling it healthy within a bound, and its own restart then
        brings back every acknowledged write."""
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        writer = _Writer(self, inst, creds, database)
        writer.wait_for_rows(50, self.ctx.timeouts.command)
        self.supported(self.backend.kill_server, inst)
        self.addCleanup(self._revive_quietly, inst)     # healed whatever happens
        acked = writer.stop(self.ctx.timeouts.command)
        seen, noticed = self.statuses_until(inst, lambda s: s not in HEALTHY, NOTICE_BOUND)
        self.supported(self.backend.restart_instance, inst)   # the control plane's heal
        after, healthy_after = self.statuses_until(inst, lambda s: s in HEALTHY, NOTICE_BOUND)
        lost = self.lost(acked, inst, creds, database)
        self.note(nemesis={"fault": "SIGKILL server, left down", "statuses": seen,
                           "noticed_after_s": noticed, "statuses_after_restart": after,
                           "guest": inst.extra.get("faults"), "acknowledged": len(acked),
                           "lost": len(lost)})
        self.assertIsNotNone(noticed, f"the control plane still reported {seen[-1]} "
                                      f"{NOTICE_BOUND:.0f}s after the server was killed")
        self.assertIsNotNone(healthy_after, f"not healthy after the control plane's restart: "
                                            f"{after}")
        self.assertGreater(len(acked), 0, "no write was acknowledged before the kill")
        self.assertEqual([], lost, "acknowledged writes lost by a crash")

    @scenario(id="nemesis.agent_restart", capability="instance", tier="stable")
    def test_agent_restart_mid_operation(self):
        """Restart the guest agent while the control plane restarts the server:
        how that operation ends and what the control plane reports are
        recorded; afterwards (healed by a second restart if need be) the
        instance is healthy and holds every row written before."""
        self.supported(self.backend.fault_possible, "agent")
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        items = self.sample_items(tag="before-agent-restart")
        self.write(inst, creds, database, items)
        thread, outcome = _in_background("nemesis-restart", self.backend.restart_instance, inst)
        in_flight, _ = self.statuses_until(inst, lambda s: s not in HEALTHY, 60)
        agent = self.backend.restart_agent(inst)
        thread.join(self.ctx.timeouts.scenario)
        if thread.is_alive():
            outcome["result"] = f"still running after {self.ctx.timeouts.scenario:.0f}s"
        seen, settled = self.statuses_until(inst, lambda s: s in HEALTHY or "ERROR" in s,
                                            NOTICE_BOUND)
        healed = False
        if seen[-1] not in HEALTHY:    # the heal: the control plane's restart, once more
            self.backend.restart_instance(inst)
            healed = True
        self.note(nemesis={"fault": "guest agent restarted during a restart",
                           "statuses_before_fault": in_flight, "agent": agent,
                           "operation": _said(outcome), "statuses_after": seen,
                           "settled_after_s": settled, "healed_by_second_restart": healed})
        self.assert_items(items, self.read(inst, creds, database))
        self.assertTrue(self.can_use(inst, creds, database), "no writes after the agent restart")
        _, healthy = self.statuses_until(inst, lambda s: s in HEALTHY, NOTICE_BOUND)
        self.assertIsNotNone(healthy, "the control plane does not report the instance healthy")

    @scenario(id="nemesis.restart_during_backup", capability="backup", tier="stable",
              strategies="backup", cost=2)
    def test_restart_during_backup(self):
        """Restart the instance through the control plane while a backup runs.
        Recorded: whether the backup was seen in flight, how the control plane
        answered the restart (Trove may refuse it) and how the backup ended.
        Afterwards the instance is healthy and holds every row written before,
        and a backup that completed restores them into a new instance."""
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        items = self.sample_items(tag="before-backup")
        self.write(inst, creds, database, items)
        thread, backup = _in_background("nemesis-backup", self.backend.create_backup, inst,
                                        self.strategy)
        in_flight, _ = self.statuses_until(
            inst, lambda s: s.startswith("BACKUP") or not thread.is_alive(), 60)
        restart: dict = {"backup_in_flight": any(s.startswith("BACKUP") for s in in_flight)}
        try:
            self.backend.restart_instance(inst)
            restart["result"] = "completed"
        except NotSupported:
            raise
        except Exception as exc:   # a refusal is the control plane's answer: recorded
            restart["result"] = f"refused or failed: {str(exc)[:400]}"
            # the control plane shields the backup from its own restart; the
            # server can still go down under it (a host reboot, an OOM kill)
            restart["server_killed_during_backup"] = thread.is_alive()
            if thread.is_alive():
                self.supported(self.backend.kill_server, inst)
                self.addCleanup(self._revive_quietly, inst)    # healed whatever happens
        thread.join(self.ctx.timeouts.scenario)
        if "unsupported" in backup:
            self.skipTest(str(backup["unsupported"]))
        if "value" in backup:
            self.addCleanup(self.backend.delete_backup, backup["value"])
        if restart.get("server_killed_during_backup"):
            # the control plane must notice the dead server (its status may
            # still say healthy as the backup ends), then its restart heals it
            seen, noticed = self.statuses_until(inst, lambda s: s not in HEALTHY,
                                                NOTICE_BOUND)
            restart["noticed_after_s"] = noticed
            self.backend.restart_instance(inst)
            after, settled = self.statuses_until(inst, lambda s: s in HEALTHY, NOTICE_BOUND)
            seen += after
        else:
            seen, settled = self.statuses_until(inst, lambda s: s in HEALTHY or "ERROR" in s,
                                                NOTICE_BOUND)
        self.note(nemesis={"fault": "instance restarted while a backup runs",
                           "statuses_before_restart": in_flight, "restart": restart,
                           "backup": _said(backup),
                           "statuses_after": seen, "settled_after_s": settled})
        self.assertIn(seen[-1], HEALTHY, f"not healthy after the restart: {seen}")
        self.assert_items(items, self.read(inst, creds, database))
        if "value" in backup:
            new = self.create_instance(name="restored-after-restart",
                                       restore_from=backup["value"])
            self.assert_items(items, self.read(new, self.backend.service_credentials(new),
                                               database))

    @scenario(id="nemesis.crash_restart", capability="instance", tier="stable")
    def test_crash_restart(self):
        """SIGKILL the server mid-writes, restart it: every acknowledged write is there."""
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        writer = _Writer(self, inst, creds, database)
        writer.wait_for_rows(50, self.ctx.timeouts.command)
        self.supported(self.backend.kill_server, inst)
        acked = writer.stop(self.ctx.timeouts.command)
        self.supported(self.backend.restart_instance, inst)   # the heal
        lost = self.lost(acked, inst, creds, database)
        self.note(nemesis={"fault": "SIGKILL server", "acknowledged": len(acked),
                           "lost": len(lost)})
        self.assertGreater(len(acked), 0, "no write was acknowledged before the kill")
        self.assertEqual([], lost, "acknowledged writes lost by a crash")

    @scenario(id="nemesis.pause_resume", capability="instance", tier="stable")
    def test_pause_resume(self):
        """SIGSTOP the server: requests hang (no false answer); SIGCONT: they
        complete and nothing acknowledged is lost."""
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        writer = _Writer(self, inst, creds, database)
        writer.wait_for_rows(20, self.ctx.timeouts.command)
        self.supported(self.backend.pause_server, inst)
        self.addCleanup(self.backend.resume_server, inst)    # healed whatever happens
        before = len(writer.acked)
        time.sleep(1.0)
        during = len(writer.acked) - before
        self.backend.resume_server(inst)
        writer.wait_for_rows(before + 20, self.ctx.timeouts.command)
        acked = writer.stop(self.ctx.timeouts.command)
        lost = self.lost(acked, inst, creds, database)
        self.note(nemesis={"fault": "SIGSTOP 1s", "acknowledged": len(acked),
                           "acknowledged_while_paused": during, "lost": len(lost)})
        self.assertLessEqual(during, 1, "a paused server acknowledged writes")
        self.assertIsNone(writer.error, f"the writer failed after resume: {writer.error}")
        self.assertGreaterEqual(len(acked), before + 20, "writes did not resume")
        self.assertEqual([], lost)

    @scenario(id="nemesis.kill_primary", capability="replication", tier="stable",
              strategies="replication", cost=3)
    def test_kill_primary(self):
        """SIGKILL the primary while a client writes; eject it: the most current
        replica is promoted and holds every acknowledged write."""
        primary = self.create_instance(name="primary")
        database, creds = self.data_target(primary)
        replica = self.supported(self.backend.create_replica, primary, self.strategy)
        self.addCleanup(self._delete_quietly, replica)
        writer = _Writer(self, primary, creds, database)
        writer.wait_for_rows(50, self.ctx.timeouts.command)
        self.supported(self.backend.kill_server, primary)
        acked = writer.stop(self.ctx.timeouts.command)
        promoted = self.supported(self.backend.eject_replica_source, primary)
        self.assertEqual(replica.id, promoted.id)
        lost = self.lost(acked, promoted, creds, database)
        self.note(nemesis={"fault": "SIGKILL primary during replication",
                           "acknowledged": len(acked), "lost": len(lost)})
        self.assertTrue(self.can_use(promoted, creds, database), "promoted replica not writable")
        self.assertEqual([], lost, f"{len(lost)} acknowledged writes lost on failover")

    @scenario(id="nemesis.partition_replica", capability="replication", tier="stable",
              strategies="replication", cost=3)
    def test_partition_replica(self):
        """Cut a replica's link while the primary takes writes; heal: it catches up."""
        self.supported(self.backend.fault_possible, "network")
        primary = self.create_instance(name="primary")
        database, creds = self.data_target(primary)
        replica = self.supported(self.backend.create_replica, primary, self.strategy)
        self.addCleanup(self._delete_quietly, replica)
        self.backend.cut_network(replica)
        self.addCleanup(self.backend.heal_network, replica)
        during = self.sample_items(tag="partitioned")
        self.write(primary, creds, database, during)
        self.backend.heal_network(replica)
        self.eventually_items(replica, creds, database, during, "the healed replica catching up")

    @scenario(id="nemesis.fill_volume", capability="instance", tier="stable")
    def test_fill_volume(self):
        """Fill the data volume: writes fail cleanly, acknowledged rows survive,
        and after space is freed the server writes again."""
        self.supported(self.backend.fault_possible, "volume")
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        before = self.sample_items(tag="before")
        self.write(inst, creds, database, before)
        self.backend.fill_volume(inst)
        self.addCleanup(self.backend.free_volume, inst)
        try:
            self.write(inst, creds, database, self.sample_items(tag="full"))
            refused = False
        except Exception:
            refused = True
        self.backend.free_volume(inst)
        self.assert_items(before, self.read(inst, creds, database))
        self.assertTrue(self.can_use(inst, creds, database), "no writes after space was freed")
        self.note(nemesis={"fault": "fill volume", "write_refused_when_full": refused})

    def _delete_cluster(self, cluster) -> None:
        for inst in cluster.instances:     # the members' logs go with the evidence
            try:
                self.backend.collect_logs(inst, self.log_dir)
            except Exception:
                pass
        self.backend.delete_cluster(cluster)

    def _cluster_with_primary(self):
        cluster = self.supported(self.backend.create_cluster, self.datastore, self.version,
                                 self.strategy, 3)
        self.addCleanup(self._delete_cluster, cluster)
        self.record_identity(self.backend.identity(cluster.instances[0]))
        primary = self.supported(self.backend.cluster_primary, cluster)
        return cluster, primary

    @scenario(id="nemesis.kill_cluster_primary", capability="cluster", tier="stable",
              strategies="cluster", cost=10)
    def test_kill_cluster_primary(self):
        """SIGKILL the primary of a 3-member cluster (a replica set) while a
        client writes with majority acknowledgement: the members elect a new
        primary holding every acknowledged write; the old one rejoins."""
        cluster, primary = self._cluster_with_primary()
        database, creds = self.data_target(primary)
        writer = _Writer(self, primary, creds, database)
        writer.wait_for_rows(50, self.ctx.timeouts.command)
        self.supported(self.backend.kill_server, primary)
        acked = writer.stop(self.ctx.timeouts.command)
        others = [i for i in cluster.instances if i is not primary]
        new = self.backend.cluster_primary(cluster, others)
        lost = self.lost(acked, new, creds, database)
        self.note(nemesis={"fault": "SIGKILL cluster primary during writes",
                           "acknowledged": len(acked), "lost": len(lost),
                           "new_primary": new.id})
        self.assertGreater(len(acked), 0, "no write was acknowledged before the kill")
        self.assertEqual([], lost, f"{len(lost)} acknowledged writes lost on failover")
        self.assertTrue(self.can_use(new, creds, database), "the new primary is not writable")
        self.supported(self.backend.restart_instance, primary)   # the heal
        self.eventually_everywhere(cluster.instances, creds, database,
                                   {k: k for k in acked}, "every acknowledged write")

    @scenario(id="nemesis.partition_cluster_member", capability="cluster", tier="stable",
              strategies="cluster", cost=10)
    def test_partition_cluster_member(self):
        """Cut one secondary's network while the primary takes writes; heal:
        the member catches up and holds every write."""
        self.supported(self.backend.fault_possible, "network")
        cluster, primary = self._cluster_with_primary()
        member = next(i for i in cluster.instances if i is not primary)
        database, creds = self.data_target(primary)
        self.backend.cut_network(member)
        self.addCleanup(self.backend.heal_network, member)
        during = self.sample_items(tag="partitioned")
        self.write(primary, creds, database, during)
        self.backend.heal_network(member)
        self.eventually_everywhere(cluster.instances, creds, database, during,
                                   "writes made during the partition")

    @scenario(id="nemesis.pause_cluster_node", capability="cluster", tier="stable",
              strategies="cluster", cost=10)
    def test_pause_cluster_node(self):
        """SIGSTOP one node of a 3-node cluster while a client writes to another,
        then SIGCONT: the node rejoins and every node holds every acknowledged write."""
        cluster = self.supported(self.backend.create_cluster, self.datastore, self.version,
                                 self.strategy, 3)
        self.addCleanup(self.backend.delete_cluster, cluster)
        writer_node, other, paused = cluster.instances
        database, creds = self.data_target(writer_node)
        writer = _Writer(self, writer_node, creds, database)
        writer.wait_for_rows(20, self.ctx.timeouts.command)
        self.supported(self.backend.pause_server, paused)
        self.addCleanup(self.backend.resume_server, paused)   # healed whatever happens
        before, t0 = len(writer.acked), time.monotonic()
        pause_s = min(12.0, self.ctx.timeouts.cluster / 4)
        while time.monotonic() - t0 < pause_s and writer.error is None:
            time.sleep(0.1)
        during = len(writer.acked) - before
        self.backend.resume_server(paused)
        resumed = len(writer.acked)
        writer.wait_for_rows(resumed + 20, self.ctx.timeouts.cluster)
        acked = writer.stop(self.ctx.timeouts.command)
        self.eventually_everywhere(cluster.instances, creds, database,
                                   {k: k for k in acked}, "every acknowledged write")
        self.note(nemesis={"fault": f"SIGSTOP one of 3 nodes for {pause_s:.0f}s",
                           "acknowledged": len(acked), "acknowledged_while_paused": during,
                           "lost": 0, "writer_error": str(writer.error or "") or None})
        self.assertIsNone(writer.error, f"writes failed on a healthy node: {writer.error}")
        self.assertGreater(len(acked), resumed, "writes did not continue after the resume")
