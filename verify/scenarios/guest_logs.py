"""Guest logs: list, show and publish the engine's logs into the run's bundle."""

from __future__ import annotations

import secrets
from pathlib import Path

from verify.errors import NotSupported
from verify.scenarios.base import ScenarioTest, scenario


class GuestLogsTest(ScenarioTest):

    @scenario(id="guest_logs.publish", capability="guest_logs", tier="technical-preview")
    def test_list_and_publish(self):
        inst = self.create_instance()
        database, creds = self.data_target(inst)
        marker = None
        try:   # a USER log, off by default, switched on as Trove's log-enable does
            self.backend.enable_log(inst, "general")
            marker = f"marker-{secrets.token_hex(6)}"
        except NotSupported as exc:
            self.note(general_log=str(exc))
        self.write(inst, creds, database, {**self.sample_items(3), marker or "m": "x"})
        names = self.supported(self.backend.list_logs, inst)
        self.assertTrue(names, "the instance lists no logs")
        published = []
        for name in names:
            shown = self.supported(self.backend.show_log, inst, name)
            self.assertEqual(name, shown["name"])
            # not under log_dir: the runner copies that directory's files on failure
            path = self.backend.publish_log(inst, name, self.ctx.scratch / "published")
            self.assertTrue(path.is_file(), f"log {name} was not published")
            self.assertGreaterEqual(path.stat().st_size, shown["size"],
                                    f"published {name} log is shorter than shown")
            published.append(str(path))
            self.note(published_logs=list(published))   # in the bundle even on failure
        self.assertTrue(any(Path(p).stat().st_size for p in published),
                        "every published log is empty")
        if marker:
            self.assertIn("general", names)
            general = [p for p in published if p.endswith("-general.log")]
            self.assertIn(marker, Path(general[0]).read_text(errors="replace"),
                          "the statement run is not in the published general log")
