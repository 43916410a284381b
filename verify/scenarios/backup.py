"""Backup and restore, per named strategy. Restore always goes into a NEW
instance; rows written before the backup are checked there one by one, rows
written after it must be absent."""

from __future__ import annotations

from verify.scenarios.base import ScenarioTest, scenario


class BackupTest(ScenarioTest):

    def _source(self):
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        return inst, database, creds

    def _restored(self, backup, database):
        new = self.create_instance(name=f"restored-{self.strategy}", restore_from=backup)
        self.record_identity(self.backend.identity(new))
        return self.read(new, self.backend.service_credentials(new), database)

    @scenario(id="backup.restore", capability="backup", tier="technical-preview",
              strategies="backup", cost=2)
    def test_backup_restore_into_new_instance(self):
        inst, database, creds = self._source()
        before = self.sample_items(tag="before")
        self.write(inst, creds, database, before)
        backup = self.supported(self.backend.create_backup, inst, self.strategy)
        self.addCleanup(self.backend.delete_backup, backup)
        after = self.sample_items(tag="after")
        self.write(inst, creds, database, after)
        self.assert_items(before, self._restored(backup, database), absent=after)

    @scenario(id="backup.incremental", capability="backup", tier="technical-preview",
              strategies="backup", cost=2)
    def test_incremental_chain(self):
        inst, database, creds = self._source()
        first = self.sample_items(tag="first")
        self.write(inst, creds, database, first)
        full = self.supported(self.backend.create_backup, inst, self.strategy)
        self.addCleanup(self.backend.delete_backup, full)
        second = self.sample_items(tag="second")
        self.write(inst, creds, database, second)
        incremental = self.supported(self.backend.create_backup, inst, self.strategy,
                                     parent=full)
        self.addCleanup(self.backend.delete_backup, incremental)
        self.assertIs(full, incremental.parent)
        third = self.sample_items(tag="third")
        self.write(inst, creds, database, third)
        self.assert_items({**first, **second}, self._restored(incremental, database),
                          absent=third)
