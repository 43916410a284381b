"""Lint for what the trove backend stands on: shellcheck for devstack/ and
the setup hook, ansible-lint for playbooks/, and the tempest entry point."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_shellcheck_devstack_plugin():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed: run tools/setup.sh")
    files = [REPO / "devstack" / "plugin.sh", REPO / "devstack" / "settings",
             REPO / "tools" / "setup.d" / "trove.sh",
             REPO / "tools" / "setup.d" / "gate-tools.sh"]
    proc = subprocess.run(["shellcheck", "-s", "bash", "-x", *map(str, files)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_playbooks():
    lint = Path(sys.executable).parent / "ansible-lint"
    if not lint.exists():
        pytest.skip("ansible-lint not installed: pip install -r test-requirements.txt")
    proc = subprocess.run([str(lint), "--offline", "-q", "playbooks/"], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_tempest_plugin_entry_point_registered():
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    entry = cfg["entry_points"]["tempest.test_plugins"].strip()
    assert entry == "trove-verify = verify.tempest_plugin:TroveVerifyTempestPlugin"


def test_devstack_sample_names_our_settings():
    sample = (REPO / "devstack" / "local.conf.sample").read_text()
    settings = (REPO / "devstack" / "settings").read_text()
    assert "enable_plugin trove-verify" in sample
    assert "TROVE_VERIFY_EXTRA_VERSIONS" in sample and "TROVE_VERIFY_EXTRA_VERSIONS" in settings
    assert "TROVE_VERIFY_DATASTORES" in sample and "TROVE_VERIFY_DATASTORES" in settings
