"""One tempest test per configured datastore: run its scenario set through
the trove backend and fail unless the run passed."""

from __future__ import annotations

from pathlib import Path

from tempest import config, test

CONF = config.CONF


class TroveVerifyScenarioSets(test.BaseTestCase):
    credentials: list = []

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.trove_verify.datastores:
            raise cls.skipException("[trove_verify] datastores is empty")

    def test_scenario_sets(self):
        from verify.runner import RunOptions, execute

        results = CONF.trove_verify.results_dir
        for datastore in CONF.trove_verify.datastores:
            record = execute(RunOptions(datastore=datastore, tier=CONF.trove_verify.tier,
                                        backend="trove", cloud=CONF.trove_verify.cloud,
                                        results=Path(results) if results else None),
                             say=lambda _line: None)
            failed = [s["id"] for s in record["scenarios"] if s["status"] == "fail"]
            self.assertEqual("pass", record["status"], f"{datastore}: failed {failed}")
