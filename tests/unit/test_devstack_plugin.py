"""Every trove-verify command the devstack plugin and the Zuul playbooks run
is one the CLI accepts: parsed by the CLI's own parser, so a renamed or
missing flag fails here, not in someone's devstack."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from tests.conftest import REPO
from verify.cli import build_parser

VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?:[%#][^}]*)?\}?")


def _shell_commands(text: str) -> list[list[str]]:
    """trove-verify invocations in a shell script, continuations joined and
    variables replaced by a placeholder word."""
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        words = shlex.split(VARIABLE.sub("VALUE", line), comments=True)
        for i, word in enumerate(words):
            if word == "trove-verify" and (i == 0 or words[i - 1].endswith("=VALUE")):
                found.append(words[i + 1:])
    return found


def test_the_plugin_runs_trove_verify():
    commands = _shell_commands((REPO / "devstack" / "plugin.sh").read_text())
    assert [c[0] for c in commands] == ["register", "register", "cleanup"]
    assert "--config-rules" in commands[0]      # Trove's validation rules when it has them


def _phases(text: str) -> set[tuple[str, ...]]:
    return set(re.findall(r'\[\[ "\$1" == "(\w+)"(?: && "\$2" == "([\w-]+)")? \]\]', text))


def test_the_plugin_follows_devstacks_conventions():
    settings = (REPO / "devstack" / "settings").read_text()
    plugin = (REPO / "devstack" / "plugin.sh").read_text()
    assert "define_plugin trove-verify" in settings
    assert "plugin_requires trove-verify trove" in settings
    assert _phases(plugin) == {("stack", "install"), ("stack", "test-config"),
                               ("unstack", ""), ("clean", "")}
    # devstack's own installers (constraints, its venv, tempest's venv)
    assert 'setup_develop "$TROVE_VERIFY_DIR"' in plugin
    assert 'PIP_VIRTUAL_ENV="$TEMPEST_DIR/.tox/tempest" setup_develop' in plugin
    assert "pip install" not in plugin and "python3 -m venv" not in plugin
    # [trove_verify] in tempest.conf, and no other group
    groups = set(re.findall(r'iniset "\$TEMPEST_CONFIG" (\w+)', plugin))
    assert groups == {"trove_verify"}
    # Trove's variables are Trove's: read, never assigned here
    for text in (settings, plugin, (REPO / "devstack" / "local.conf.sample").read_text()):
        assert not re.search(r"^\s*(TROVE_DATASTORES?|TROVE_DATASTORE_\w+)=", text, re.M)


@pytest.mark.parametrize("argv", _shell_commands((REPO / "devstack" / "plugin.sh").read_text()),
                         ids=lambda argv: argv[0])
def test_devstack_commands_parse(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_gate_playbook_commands_parse():
    play = yaml.safe_load((REPO / "playbooks" / "gate" / "run.yaml").read_text())[0]
    [catalog, run] = [t["ansible.builtin.command"]["argv"] for t in play["tasks"]
                      if "ansible.builtin.command" in t]
    assert "['catalog', '--format', 'json']" in catalog
    build_parser().parse_args(["catalog", "--format", "json"])
    # the list the template builds: run DS --tier T, --version=V each, the backend
    assert "'run', trove_verify_datastore, '--tier', trove_verify_tier" in run
    assert "'--version='" in run and "['--backend', 'trove', '--cloud'," in run
    args = build_parser().parse_args(["run", "mariadb", "--tier", "stable", "--version=10.11",
                                      "--version=11.8", "--backend", "trove",
                                      "--cloud", "devstack-admin"])
    assert (args.tier, args.versions, args.backend) == ("stable", ["10.11", "11.8"], "trove")
