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


def _zuul_vars(tmp_path: Path, results: Path, **job_vars) -> tuple[dict, Path]:
    """What Zuul gives the playbooks: both checkouts under the node's home,
    found by project name; zuul.project is Trove's (a Trove change)."""
    home = tmp_path / "node-home"
    (home / "src" / "opendev.org" / "openstack").mkdir(parents=True)
    (home / "src" / "opendev.org" / "openstack" / "trove-verify").symlink_to(REPO)
    (home / "src" / "opendev.org" / "openstack" / "trove").mkdir()
    trove = {"name": "openstack/trove", "src_dir": "src/opendev.org/openstack/trove"}
    return {
        "zuul": {"project": trove, "job": "trove-verify-redis", "voting": False,
                 "projects": {
                     "opendev.org/openstack/trove": trove,
                     "opendev.org/openstack/trove-verify": {
                         "name": "openstack/trove-verify",
                         "src_dir": "src/opendev.org/openstack/trove-verify"}}},
        "trove_verify_project": "openstack/trove-verify",
        "trove_verify_trove_project": "openstack/trove",
        "trove_verify_datastore": "redis", "trove_verify_tier": "experimental",
        "trove_verify_command": [sys.executable, "-m", "verify"],
        "trove_verify_results": str(results),
        "trove_verify_extra_args": ["--guest", "process"],
        "ansible_user_dir": str(home),
        # the interpreter running the tests, not whatever discovery finds first
        "ansible_python_interpreter": sys.executable,
        **job_vars,
    }, home


def test_run_and_post_playbooks_make_and_keep_a_gate_bundle(results, tmp_path):
    need("redis-server")
    from verify import catalog

    redis = catalog.default().get("redis")
    extravars, home = _zuul_vars(
        tmp_path, results, trove_verify_versions=["7.0"],
        trove_verify_capabilities=list(redis.capabilities),
        trove_verify_strategies=[s.name for s in redis.strategies])
    ran = _playbook("run.yaml", extravars, tmp_path)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-2000:]
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass"
    assert run["versions"] == ["7.0"]      # the job's versions var reached `run`
    assert run["provenance"] == {"kind": "gate", "job": "trove-verify-redis", "voting": False}

    kept = _playbook("post.yaml", extravars, tmp_path)
    assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-2000:]
    copied = home / "zuul-output" / "logs" / "trove-verify-results" / bundle.name / "run.json"
    assert json.loads(copied.read_text())["run_id"] == run["run_id"]


def test_run_playbook_refuses_job_vars_the_catalog_no_longer_claims(results, tmp_path):
    extravars, _ = _zuul_vars(tmp_path, results, trove_verify_versions=["6.2"])
    ran = _playbook("run.yaml", extravars, tmp_path)
    assert ran.returncode != 0
    assert "no longer match the catalog for redis" in ran.stdout
    assert not results.exists() or not any(results.iterdir())   # nothing ran
