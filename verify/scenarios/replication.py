"""Replication, per named strategy: a replica seeded from a backup, writes on
the primary appear on it, it refuses writes, promote (the old primary follows
where the engine allows), eject the source, detach a replica."""

from __future__ import annotations

from verify.errors import NotSupported
from verify.scenarios.base import ScenarioTest, scenario


class ReplicationTest(ScenarioTest):

    def _pair(self):
        primary = self.create_instance(name="primary")
        database, creds = self.data_target(primary)
        seeded = self.sample_items(tag="seeded")
        self.write(primary, creds, database, seeded)
        replica = self.supported(self.backend.create_replica, primary, self.strategy)
        self.addCleanup(self._delete_quietly, replica)
        self.record_identity(self.backend.identity(replica))
        self.eventually_items(replica, creds, database, seeded, "rows of the seed backup")
        live = self.sample_items(tag="live")
        self.write(primary, creds, database, live)
        self.eventually_items(replica, creds, database, live,
                              "rows written on the primary reaching the replica")
        return primary, replica, database, creds

    def assert_refuses_writes(self, inst, creds, database, what: str) -> None:
        # the same user still reads there, so a refusal is read-only, not an outage
        self.assertTrue(self.read(inst, creds, database), f"{what} cannot be read")
        self.assertFalse(self.can_use(inst, creds, database), f"{what} accepted a write")

    @scenario(id="replication.replicate_promote", capability="replication",
              tier="technical-preview", strategies="replication", cost=3)
    def test_replicate_and_promote(self):
        primary, replica, database, creds = self._pair()
        try:
            self.assertTrue(self.backend.read_only(replica), "replica is not read-only")
            self.assert_refuses_writes(replica, creds, database, "the replica")
        except NotSupported as exc:
            self.note(read_only=f"not checked: {exc}")
        self.supported(self.backend.promote_to_replica_source, replica)
        self.assertTrue(self.can_use(replica, creds, database), "promoted replica not writable")
        after = self.sample_items(tag="promoted")
        self.write(replica, creds, database, after)
        old = self.backend.show_instance(primary.id)
        if old.replica_of == replica.id:
            self.eventually_items(primary, creds, database, after,
                                  "the old primary following the new one")
            self.assert_refuses_writes(primary, creds, database, "the old primary")
            self.note(old_primary="follows the promoted replica")
        else:
            self.note(old_primary="standalone: the engine cannot make it follow")

    @scenario(id="replication.eject_source", capability="replication",
              tier="technical-preview", strategies="replication", cost=3)
    def test_eject_source(self):
        primary, replica, database, creds = self._pair()
        new = self.supported(self.backend.eject_replica_source, primary)
        self.assertEqual(replica.id, new.id)
        self.assertTrue(self.can_use(replica, creds, database), "new source not writable")
        stray = self.sample_items(tag="stray")
        self.write(primary, creds, database, stray)
        mine = self.sample_items(tag="mine")
        self.write(replica, creds, database, mine)
        self.assert_items(mine, self.read(replica, creds, database), absent=stray)

    @scenario(id="replication.detach", capability="replication",
              tier="technical-preview", strategies="replication", cost=3)
    def test_detach_replica(self):
        primary, replica, database, creds = self._pair()
        self.supported(self.backend.detach_replica, replica)
        self.assertIsNone(self.backend.show_instance(replica.id).replica_of)
        self.assertTrue(self.can_use(replica, creds, database), "detached replica not writable")
        later = self.sample_items(tag="later")
        self.write(primary, creds, database, later)
        self.assert_items({}, self.read(replica, creds, database), absent=later)
