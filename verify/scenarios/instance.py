"""Instance lifecycle: create, use through the engine's own client, delete."""

from __future__ import annotations

from verify.scenarios.base import ScenarioTest, scenario


class InstanceTest(ScenarioTest):

    @scenario(id="instance.create_delete", capability="instance")
    def test_create_write_read_delete(self):
        inst = self.create_instance(delete=False)
        try:
            self.record_identity(self.backend.identity(inst))
            if self.ds.claims("databases") and self.ds.claims("users"):
                database, creds = "verify_db", self.new_credentials()
                self.backend.create_database(inst, database)
                self.assertIn(database, self.backend.list_databases(inst))
                self.backend.create_user(inst, creds.user, creds.password, [database])
            else:
                database, creds = None, self.backend.service_credentials(inst)
            items = self.sample_items()
            with self.backend.connect(inst, creds, database) as client:
                client.write_items(items)
            with self.backend.connect(inst, creds, database) as client:
                self.assertEqual(items, client.read_items())
            self.backend.collect_logs(inst, self.log_dir)
        finally:
            self.backend.delete_instance(inst)
        self.assertEqual([], self.backend.leftovers(inst))
