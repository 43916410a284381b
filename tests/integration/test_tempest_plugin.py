"""The tempest plugin beside trove-tempest-plugin, as Trove's gate would have
them: both listed by tempest, one test per scenario id found by
`tempest run --list-tests --regex trove_verify`, each with its idempotent id,
and tempest's check-uuid passing. Uses the tempest venv that
tools/setup.d/gate-tools.sh makes (tempest, trove-tempest-plugin 2.8.0)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from verify.tempest_plugin import generate, ids


def _venv() -> Path:
    cache = Path(os.environ.get("TROVE_VERIFY_CACHE")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "trove-verify")
    bin_dir = cache / "tempest-venv" / "bin"
    if not (bin_dir / "tempest").exists():
        pytest.skip(f"no tempest venv at {bin_dir.parent}: run tools/setup.d/gate-tools.sh")
    return bin_dir


def _tempest(bin_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess:
    # this checkout first, whatever checkout the venv's editable install names
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([str(bin_dir / argv[0]), *argv[1:]], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


def test_both_plugins_list_our_tests_with_ids_and_check_uuid_passes(tmp_path):
    bin_dir = _venv()
    plugins = _tempest(bin_dir, "tempest", "list-plugins", cwd=tmp_path)
    assert plugins.returncode == 0, plugins.stderr
    assert "trove_tempest_plugin.plugin:TroveTempestPlugin" in plugins.stdout
    assert "verify.tempest_plugin:TroveVerifyTempestPlugin" in plugins.stdout

    # a workspace registry of its own: never the user's ~/.tempest/workspace.yaml
    init = _tempest(bin_dir, "tempest", "init", "--name", f"trove-verify-{os.getpid()}",
                    "--workspace-path", str(tmp_path / "workspace.yaml"), "ws", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    listed = _tempest(bin_dir, "tempest", "run", "--list-tests", "--regex", "trove_verify",
                      cwd=tmp_path / "ws")
    assert listed.returncode == 0, listed.stdout[-2000:] + listed.stderr[-2000:]
    found = dict(re.findall(r"\.(test_\w+)\[id-([0-9a-f-]{36})\]", listed.stdout))
    sids = generate.scenario_ids()
    assert found == {ids.method_name(s): ids.idempotent_id(s) for s in sids}

    check = _tempest(bin_dir, "check-uuid", "--package", "verify.tempest_plugin.tests",
                     cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_check_uuid_fails_on_a_test_without_an_id(tmp_path):
    """So the passing check above means something."""
    bin_dir = _venv()
    pkg = tmp_path / "tvcheck"
    shutil.copytree(generate.MODULE.parent, pkg)
    module = pkg / generate.MODULE.name
    text = module.read_text()
    module.write_text(re.sub(r"    @decorators\.idempotent_id\('[^']+'\)\n", "", text, count=1))
    check = subprocess.run([str(bin_dir / "check-uuid"), "--package", "tvcheck",
                            "--libpath", str(tmp_path)], capture_output=True, text=True,
                           timeout=600, cwd=tmp_path,
                           env=dict(os.environ, PYTHONPATH=f"{tmp_path}:{REPO}"))
    assert check.returncode != 0, check.stdout + check.stderr
