"""Users: create, list, delete, change password, grant/revoke/list access.

Every check is real: the user logs in and writes to (or fails to reach) the
database through the engine's own client."""

from __future__ import annotations

from verify.engines.base import Credentials, random_password
from verify.scenarios.base import ScenarioTest, scenario


class UsersTest(ScenarioTest):

    @scenario(id="users.lifecycle", capability="users", tier="technical-preview")
    def test_create_list_password_delete(self):
        inst = self.create_instance()
        self.backend.create_database(inst, "verify_users")
        creds = self.new_credentials()
        self.supported(self.backend.create_user, inst, creds.user, creds.password,
                       ["verify_users"])
        self.assertIn(creds.user, self.backend.list_users(inst))
        self.assertTrue(self.can_use(inst, creds, "verify_users"))

        new = Credentials(creds.user, random_password())
        self.supported(self.backend.change_password, inst, creds.user, new.password)
        self.assertFalse(self.can_use(inst, creds, "verify_users"), "old password still works")
        self.assertTrue(self.can_use(inst, new, "verify_users"), "new password refused")

        self.backend.delete_user(inst, creds.user)
        self.assertNotIn(creds.user, self.backend.list_users(inst))
        self.assertFalse(self.can_use(inst, new, "verify_users"), "a deleted user logs in")
        admin = self.backend.service_credentials(inst)
        self.assertTrue(self.can_use(inst, admin, "verify_users"), "the server must still answer")

    @scenario(id="users.access", capability="users", tier="technical-preview")
    def test_grant_revoke_list_access(self):
        inst = self.create_instance()
        for db in ("verify_a", "verify_b"):
            self.backend.create_database(inst, db)
        creds = self.new_credentials()
        self.backend.create_user(inst, creds.user, creds.password, ["verify_a"])
        self.assertTrue(self.can_use(inst, creds, "verify_a"))
        self.assertFalse(self.can_use(inst, creds, "verify_b"), "reaches an ungranted db")

        self.supported(self.backend.grant_access, inst, creds.user, ["verify_b"])
        self.assertTrue(self.can_use(inst, creds, "verify_b"), "grant did not take effect")
        self.assertEqual(["verify_a", "verify_b"],
                         sorted(self.backend.list_access(inst, creds.user)))

        self.supported(self.backend.revoke_access, inst, creds.user, "verify_a")
        self.assertFalse(self.can_use(inst, creds, "verify_a"), "revoke did not take effect")
        self.assertTrue(self.can_use(inst, creds, "verify_b"))
        self.assertEqual(["verify_b"], sorted(self.backend.list_access(inst, creds.user)))
