"""Datastore upgrade: an instance on one catalog version moves to the next one
(a new guest image over the same data volume, as Trove's `instance upgrade`
does), the engine upgrades its data in place (mariadb-upgrade, pg_upgrade,
Redis reading its older RDB), and the data written before is read back
through the engine's own client."""

from __future__ import annotations

from verify.scenarios.base import ScenarioTest, scenario


def _key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.replace("-", ".").split("."))


class UpgradeTest(ScenarioTest):

    def target_version(self) -> str | None:
        """The next newer version the catalog lists for this datastore."""
        newer = sorted((v.name for v in self.ds.versions if _key(v.name) > _key(self.version)),
                       key=_key)
        return newer[0] if newer else None

    @scenario(id="upgrade.next_version", capability="upgrade", tier="technical-preview")
    def test_upgrade_to_next_version(self):
        target = self.target_version()
        if target is None:
            self.skipTest(f"{self.datastore} {self.version} is the newest version in the "
                          "catalog: nothing to upgrade to")
        reason = self.backend.unavailable(self.ds, target)
        if reason:
            self.skipTest(f"cannot launch {target} here: {reason}")
        inst = self.create_instance()
        before = self.backend.identity(inst)
        database, creds = self.data_target(inst)
        items = self.sample_items(tag="before-upgrade")
        self.write(inst, creds, database, items)
        self.supported(self.backend.upgrade_instance, inst, target)
        after = self.backend.identity(inst)
        self.record_identity(after)
        self.assertTrue(self.ds.accepts_engine(after.name),
                        f"{after.name} answered after the upgrade")
        self.assertTrue(after.version.startswith(target),
                        f"the server reports {after.version} after upgrading "
                        f"{before.version} to {target}")
        self.assert_items(items, self.read(inst, creds, database))
        more = self.sample_items(tag="after-upgrade")
        self.write(inst, creds, database, more)
        self.assert_items({**items, **more}, self.read(inst, creds, database))
        self.note(upgrade={"from": before.as_dict(), "to": after.as_dict(),
                           "image": inst.image})
