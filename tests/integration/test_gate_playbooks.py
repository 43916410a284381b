"""The Zuul job's playbooks for real, under ansible-playbook on localhost with
the variables Zuul would give: run.yaml runs a scenario set whose bundle says
it came from that gate job, post.yaml puts the bundle where fetch-output
collects logs from."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, need


def _playbook(name: str, extravars: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    ansible = Path(sys.executable).parent / "ansible-playbook"
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(extravars))
    return subprocess.run([str(ansible if ansible.exists() else shutil.which("ansible-playbook")),
                           "-i", "localhost,", "-c", "local", "-e", f"@{varfile}",
                           str(REPO / "playbooks" / "gate" / name)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)


def test_run_and_post_playbooks_make_and_keep_a_gate_bundle(results, tmp_path):
    need("redis-server")
    home = tmp_path / "node-home"
    extravars = {
        "zuul": {"project": {"src_dir": str(REPO)}, "job": "trove-verify-redis",
                 "voting": False},
        "trove_verify_datastore": "redis", "trove_verify_tier": "experimental",
        "trove_verify_command": [sys.executable, "-m", "verify"],
        "trove_verify_results": str(results),
        "trove_verify_extra_args": ["--guest", "process"],
        "ansible_user_dir": str(home),
        # the interpreter running the tests, not whatever discovery finds first
        "ansible_python_interpreter": sys.executable,
    }
    ran = _playbook("run.yaml", extravars, tmp_path)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass"
    assert run["provenance"] == {"kind": "gate", "job": "trove-verify-redis", "voting": False}

    kept = _playbook("post.yaml", extravars, tmp_path)
    assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-2000:]
    copied = home / "zuul-output" / "logs" / "trove-verify-results" / bundle.name / "run.json"
    assert json.loads(copied.read_text())["run_id"] == run["run_id"]
