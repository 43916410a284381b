"""The tempest test base: run one scenario id through trove-verify's runner
and turn its records into a tempest result (pass, fail, or skip with the
reason the run recorded)."""

from __future__ import annotations

from pathlib import Path

from tempest import config, test

CONF = config.CONF


class ScenarioTestBase(test.BaseTestCase):
    credentials: list = []

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        if not CONF.trove_verify.datastores:
            raise cls.skipException("[trove_verify] datastores is empty: the devstack "
                                    "plugin writes it (TROVE_VERIFY_DATASTORES)")

    def run_scenario(self, scenario_id: str) -> None:
        # imported here: listing the tests needs tempest alone
        from verify import catalog
        from verify.runner import RunOptions, execute

        capability = scenario_id.split(".", 1)[0]
        cat = catalog.default()
        wanted = [d for d in CONF.trove_verify.datastores if cat.get(d).claims(capability)]
        if not wanted:
            raise self.skipException(f"none of {CONF.trove_verify.datastores} claims "
                                     f"{capability}")
        results = CONF.trove_verify.results_dir
        ran, skipped = [], []
        for datastore in wanted:
            record = execute(RunOptions(
                datastore=datastore, tier=CONF.trove_verify.tier,
                backend=CONF.trove_verify.backend, cloud=CONF.trove_verify.cloud,
                results=Path(results) if results else None, scenarios=[scenario_id]),
                say=lambda _line: None)
            for s in record["scenarios"]:
                (skipped if s["status"] == "skipped" else ran).append((datastore, s))
        failed = [f"{d} {s['version']}: {s['reason']}" for d, s in ran if s["status"] == "fail"]
        self.assertEqual([], failed, f"{scenario_id} failed")
        if not ran:
            raise self.skipException("; ".join(f"{d} {s['version']}: {s['reason']}"
                                               for d, s in skipped) or "nothing ran")
