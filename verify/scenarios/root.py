"""Root: enable, is-enabled, disable, each checked by logging in (or failing to)."""

from __future__ import annotations

from verify.scenarios.base import ScenarioTest, scenario


class RootTest(ScenarioTest):

    @scenario(id="root.enable_disable", capability="root", tier="technical-preview")
    def test_enable_check_disable(self):
        inst = self.create_instance()
        self.assertFalse(self.supported(self.backend.root_enabled, inst),
                         "root reported enabled on a new instance")
        root = self.supported(self.backend.enable_root, inst)
        self.assertTrue(self.backend.root_enabled(inst))
        # root is a superuser: it reaches a database nobody granted it
        database = None
        if self.ds.claims("databases"):
            database = "verify_root"
            self.backend.create_database(inst, database)
        self.assertTrue(self.can_use(inst, root, database), "root cannot log in and write")
        self.supported(self.backend.disable_root, inst)
        self.assertFalse(self.can_use(inst, root, database), "root still logs in")
        self.assertTrue(self.backend.identity(inst).name, "the server must still answer")
