"""Guest logs: list, show and publish the engine's logs into the run's bundle."""

from __future__ import annotations

from pathlib import Path

from verify.scenarios.base import ScenarioTest, scenario


class GuestLogsTest(ScenarioTest):

    @scenario(id="guest_logs.publish", capability="guest_logs", tier="technical-preview")
    def test_list_and_publish(self):
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        self.write(inst, creds, database, self.sample_items(3))
        names = self.supported(self.backend.list_logs, inst)
        self.assertTrue(names, "the instance lists no logs")
        published = []
        for name in names:
            path = self.backend.publish_log(inst, name, self.log_dir / "published")
            self.assertTrue(path.is_file(), f"log {name} was not published")
            published.append(str(path))
        self.assertTrue(any(Path(p).stat().st_size for p in published),
                        "every published log is empty")
        self.note(published_logs=published)
