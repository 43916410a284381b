"""Configuration groups: create with values, attach, detach; values checked as
the server reports them; bad values refused with a clear message."""

from __future__ import annotations

from verify.engines.capabilities import ConfigurationRejected
from verify.scenarios.base import ScenarioTest, scenario


def _same(expected: object, reported: str) -> bool:
    if isinstance(expected, bool):
        return reported.lower() in (("1", "on", "true") if expected else ("0", "off", "false"))
    return str(expected) == str(reported)


class ConfigurationTest(ScenarioTest):

    def _sample(self) -> dict[str, object]:
        rules = self.supported(self.backend.list_configuration_parameters,
                               self.datastore, self.version)
        with_example = [r for r in rules.values() if r.example is not None]
        picked = [r for r in with_example if r.dynamic][:2] + \
                 [r for r in with_example if not r.dynamic][:1]
        if not picked:
            self.skipTest(f"{self.datastore} rules name no example values")
        self.note(parameters={r.name: r.describe() for r in picked})
        return {r.name: r.example for r in picked}

    @scenario(id="configuration.attach_detach", capability="configuration",
              tier="technical-preview")
    def test_attach_detach(self):
        values = self._sample()
        inst = self.create_instance()
        defaults = {n: self.backend.read_setting(inst, n) for n in values}
        config = self.supported(self.backend.create_configuration, self.datastore,
                                self.version, values)
        self.backend.attach_configuration(inst, config)
        for name, value in values.items():
            reported = self.backend.read_setting(inst, name)
            self.assertTrue(_same(value, reported),
                            f"{name}: set {value!r}, the server reports {reported!r}")
        # attached values survive a restart
        self.supported(self.backend.restart_instance, inst)
        for name, value in values.items():
            self.assertTrue(_same(value, self.backend.read_setting(inst, name)), name)
        self.backend.detach_configuration(inst)
        for name, default in defaults.items():
            self.assertEqual(default, self.backend.read_setting(inst, name),
                             f"{name} not back to its default after detach")

    @scenario(id="configuration.validation", capability="configuration",
              tier="technical-preview")
    def test_bad_values_refused(self):
        rules = self.supported(self.backend.list_configuration_parameters,
                               self.datastore, self.version)
        create = self.backend.create_configuration
        unknown = "verify_no_such_parameter"
        err = self.assertRaises(ConfigurationRejected, create, self.datastore, self.version,
                                {unknown: 1})
        self.assertIn(unknown, str(err))
        checked = 0
        for rule in rules.values():
            bad: list[object] = []
            if rule.type in ("integer", "float"):
                bad.append("not-a-number")
                if rule.max is not None:
                    bad.append(int(rule.max) + 1)
                if rule.min is not None:
                    bad.append(int(rule.min) - 1)
            elif rule.type == "boolean":
                bad.append("maybe")
            for value in bad:
                err = self.assertRaises(ConfigurationRejected, create, self.datastore,
                                        self.version, {rule.name: value})
                self.assertIn(rule.name, str(err))
                self.assertIn(repr(value), str(err))
                checked += 1
        self.assertGreater(checked, 0, "no rule had a value to refuse")
