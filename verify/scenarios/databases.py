"""Databases: create, list, delete, checked through the engine's own client."""

from __future__ import annotations

from verify.scenarios.base import ScenarioTest, scenario


class DatabasesTest(ScenarioTest):

    @scenario(id="databases.create_list_delete", capability="databases",
              tier="technical-preview")
    def test_create_list_delete(self):
        inst = self.create_instance()
        names = ["verify_db_a", "verify_db_b"]
        for name in names:
            self.supported(self.backend.create_database, inst, name)
        listed = self.backend.list_databases(inst)
        for name in names:
            self.assertIn(name, listed)
        # the database really exists: data goes into it and comes back
        admin = self.backend.service_credentials(inst)
        items = self.sample_items(5)
        self.write(inst, admin, names[0], items)
        self.assert_items(items, self.read(inst, admin, names[0]))
        self.backend.delete_database(inst, names[0])
        self.assertNotIn(names[0], self.backend.list_databases(inst))
        self.assertIn(names[1], self.backend.list_databases(inst))
        self.assertFalse(self.can_use(inst, admin, names[0]),
                         "a deleted database still accepts data")
