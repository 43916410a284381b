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
    assert [c[0] for c in commands] == ["register"]


@pytest.mark.parametrize("argv", _shell_commands((REPO / "devstack" / "plugin.sh").read_text()),
                         ids=lambda argv: argv[0])
def test_devstack_commands_parse(argv):
    args = build_parser().parse_args(argv)
    assert callable(args.func)


def test_gate_playbook_command_parses():
    play = yaml.safe_load((REPO / "playbooks" / "gate" / "run.yaml").read_text())[0]
    argv = play["tasks"][0]["ansible.builtin.command"]["argv"]
    # the list the template builds: command + run DS --tier TIER + extra args
    assert "'run', trove_verify_datastore, '--tier', trove_verify_tier" in argv
    args = build_parser().parse_args(["run", "mariadb", "--tier", "stable"])
    assert args.tier == "stable"
