"""The ledger only records and replays: each module that creates a kind of
resource registers what releases it, and a cleanup in a fresh process (after
a SIGKILL) still finds the releaser by the entry's kind."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from verify import state

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          **kwargs)


def recorded_kinds() -> set[str]:
    """Every kind the code records: ledger.add("kind", ...) / _record("kind", ...),
    or record("kind", ...) where a helper is handed the recorder."""
    kinds = set()
    for path in (ROOT / "verify").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args
                    and isinstance(node.args[0], ast.Constant)):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("add", "_record") and \
                    ast.unparse(func.value).endswith(("ledger", "self")):
                kinds.add(node.args[0].value)
            elif isinstance(func, ast.Name) and func.id == "record":
                kinds.add(node.args[0].value)
    return kinds


def test_every_kind_the_code_records_has_a_releaser():
    import verify.guests.namespace  # noqa: F401  (the guests register theirs)
    import verify.guests.process  # noqa: F401
    recorded = recorded_kinds()
    assert {"process", "dir", "port", "netns", "veth", "cgroup", "loop", "route"} <= recorded
    assert recorded <= set(state.kinds())


def test_an_unregistered_kind_is_refused_before_it_exists(tmp_path):
    ledger = state.Ledger("refuse", tmp_path / "state")
    with pytest.raises(ValueError, match="unknown ledger kind 'qemu-vm': no releaser"):
        ledger.add("qemu-vm", "vm-1")
    ledger.teardown()


def test_entries_name_the_module_that_releases_them(tmp_path):
    import verify.guests.nsrelease  # noqa: F401
    ledger = state.Ledger("names", tmp_path / "state")
    veth = ledger.add("veth", "tvh-absent0")
    proc = ledger.add("process", os.getpid() + 10**7)      # no such pid
    assert veth["releaser"] == "verify.guests.nsrelease" and "releaser" not in proc
    assert json.loads(ledger.path.read_text())["entries"][0]["kind"] == "veth"
    assert ledger.teardown() == []        # both already gone: nothing to do


def test_a_module_recording_a_namespace_kind_need_not_import_its_releaser(tmp_path):
    proc = _python(
        "import sys\n"
        "from pathlib import Path\n"
        "from verify.state import Ledger\n"
        f"ledger = Ledger('own', Path({str(tmp_path / 'state')!r}))\n"
        "print(ledger.add('loop', '/nonexistent/volume.ext4')['releaser'])\n"
        "print(ledger.teardown())\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["verify.guests.nsrelease", "[]"]


def test_a_fresh_process_finds_the_releaser_by_kind():
    """No guest module imported: the entry's module, or for entries written
    before releasers named it, the former owner, is imported to release it.
    A module outside the harness is never imported."""
    proc = _python(
        "import sys\n"
        "from verify.state import release\n"
        "assert 'verify.guests.nsrelease' not in sys.modules\n"
        "print(release([{'kind': 'veth', 'value': 'tvh-absent1',\n"
        "                'releaser': 'verify.guests.nsrelease'},\n"
        "               {'kind': 'netns', 'value': 'tv-absent-ns'},\n"
        "               {'kind': 'bogus', 'value': 1, 'releaser': 'antigravity'}]))\n"
        "print('antigravity' in sys.modules, 'verify.guests.nsrelease' in sys.modules)\n")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "['FAILED bogus 1: no releaser registered for this kind']"
    assert lines[1] == "False True"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                    reason="creating a network namespace needs root and iproute2")
def test_a_sigkilled_runs_netns_is_released_by_cleanup_in_a_fresh_process(tmp_path):
    netns = f"tv-ctest-{uuid.uuid4().hex[:8]}"
    state_dir = tmp_path / "work" / "state"
    killed = _python(
        "import os, signal, subprocess\n"
        "from pathlib import Path\n"
        "import verify.guests.nsrelease\n"
        "from verify.state import Ledger\n"
        f"ledger = Ledger('killed', Path({str(state_dir)!r}))\n"
        f"ledger.add('netns', {netns!r})\n"
        f"subprocess.run(['ip', 'netns', 'add', {netns!r}], check=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    try:
        assert killed.returncode == -9, killed.stderr
        assert Path(f"/run/netns/{netns}").exists()
        cleanup = _python("from pathlib import Path\n"
                          "from verify.state import cleanup_stale\n"
                          f"print(cleanup_stale(Path({str(state_dir)!r})))\n")
        assert cleanup.returncode == 0, cleanup.stderr
        assert f"netns {netns}" in cleanup.stdout
        assert not Path(f"/run/netns/{netns}").exists()
        assert not (state_dir / "killed.json").exists()
    finally:
        if Path(f"/run/netns/{netns}").exists():    # ours only, whatever happened
            subprocess.run(["ip", "netns", "delete", netns], capture_output=True, timeout=60)
