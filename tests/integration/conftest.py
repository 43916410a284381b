"""Fixtures shared by the integration tests: one box for the whole session
(every box test module reuses it; bringing a box up costs a minute or more),
torn down at the end with a check that nothing of it is left."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import cli
from tests.integration.boxwork import leftovers, new_box_root


@pytest.fixture(scope="session")
def box_env():
    root, env = new_box_root("tv-box-")
    env.update({"TROVE_VERIFY_TIMEOUT_TROVE_CREATE": "600",
                "TROVE_VERIFY_TIMEOUT_TROVE_ACTION": "600"})
    yield root, env
    proc = cli("box", "down", env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    work = root / "work"
    assert leftovers(work) == []
    assert not (work / "box" / "run").exists(), "box run dir left (docker data, configs)"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def box(box_env):
    root, env = box_env
    up = cli("box", "up", env=env, timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    return root, env
