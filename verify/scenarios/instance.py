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
        finally:
            try:   # kept in the bundle when the scenario fails
                self.backend.collect_logs(inst, self.log_dir)
            finally:
                self.backend.delete_instance(inst)
        self.assertEqual([], self.backend.leftovers(inst))

    @scenario(id="instance.restart", capability="instance", tier="technical-preview")
    def test_restart(self):
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        items = self.sample_items()
        self.write(inst, creds, database, items)
        before = self.supported(self.backend.boot_id, inst)
        self.supported(self.backend.restart_instance, inst)
        self.assertNotEqual(before, self.backend.boot_id(inst),
                            "the server reports the same boot after a restart")
        self.assert_items(items, self.read(inst, creds, database))

    @scenario(id="instance.resize_flavor", capability="instance", tier="technical-preview")
    def test_resize_flavor(self):
        # the smallest flavor the datastore accepts, then two sizes up
        sizes = self.backend.flavors(self.datastore)
        smallest, larger = sizes[0], sizes[min(2, len(sizes) - 1)]
        if smallest == larger:
            self.skipTest(f"{self.datastore} accepts only the {smallest} flavor: nothing "
                          "to resize to")
        inst = self.create_instance(flavor=smallest)
        database, creds = self.data_target(inst)
        items = self.sample_items()
        self.write(inst, creds, database, items)
        actual, expected = self.supported(self.backend.memory_in_effect, inst)
        self.assertEqual(expected, actual, f"memory setting for the {smallest} flavor")
        self.supported(self.backend.resize_instance, inst, larger)
        actual_after, expected_after = self.backend.memory_in_effect(inst)
        self.assertEqual(expected_after, actual_after,
                         "memory setting the server reports after the resize")
        self.assertGreater(actual_after, actual)
        self.assertEqual(larger, self.backend.show_instance(inst.id).flavor.name)
        self.assert_items(items, self.read(inst, creds, database))

    @scenario(id="instance.resize_volume", capability="instance", tier="technical-preview",
              needs=("volumes",))
    def test_resize_volume(self):
        inst = self.create_instance(volume_gb=1)
        database, creds = self.data_target(inst)
        items = self.sample_items()
        self.write(inst, creds, database, items)
        before = self.supported(self.backend.volume_size_gb, inst)
        self.supported(self.backend.resize_volume, inst, 2)
        after = self.backend.volume_size_gb(inst)
        self.assertGreater(after, before, "the data volume did not grow")
        self.assert_items(items, self.read(inst, creds, database))

    @scenario(id="instance.rename", capability="instance", tier="technical-preview")
    def test_rename(self):
        inst = self.create_instance(name="before-rename")
        self.supported(self.backend.update_instance, inst, name="after-rename")
        self.assertEqual("after-rename", self.backend.show_instance(inst.id).name)
        self.assertTrue(self.backend.identity(inst).name, "the renamed instance answers")
