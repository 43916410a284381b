"""trove-verify gate zuul: valid Zuul config, voting exactly where stable."""

import jsonschema
import yaml

from tests.conftest import REPO, cli
from tests.unit.history_factory import CATALOG

# The job and project attributes Zuul v3+ accepts (zuul/configloader.py JobParser
# and ProjectParser), written out as a JSON Schema so a typo or a wrong type
# fails here instead of in Zuul's config check.
JOB_ATTRIBUTES = {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
    "parent": {"type": ["string", "null"]}, "description": {"type": "string"},
    "abstract": {"type": "boolean"}, "final": {"type": "boolean"},
    "protected": {"type": "boolean"}, "voting": {"type": "boolean"},
    "timeout": {"type": "integer", "minimum": 1},
    "post-timeout": {"type": "integer", "minimum": 1},
    "attempts": {"type": "integer", "minimum": 1},
    "nodeset": {"type": ["string", "object"]},
    "run": {"type": ["string", "array"]}, "pre-run": {"type": ["string", "array"]},
    "post-run": {"type": ["string", "array"]}, "cleanup-run": {"type": ["string", "array"]},
    "vars": {"type": "object"}, "extra-vars": {"type": "object"},
    "host-vars": {"type": "object"}, "group-vars": {"type": "object"},
    "required-projects": {"type": "array"}, "roles": {"type": "array"},
    "files": {"type": ["string", "array"]},
    "irrelevant-files": {"type": ["string", "array"]},
    "branches": {"type": ["string", "array"]}, "dependencies": {"type": "array"},
    "semaphores": {"type": ["string", "array"]}, "tags": {"type": ["string", "array"]},
    "secrets": {"type": ["string", "array", "object"]},
    "override-checkout": {"type": "string"}, "success-url": {"type": "string"},
    "failure-url": {"type": "string"}, "hold-following-changes": {"type": "boolean"},
    "provides": {"type": ["string", "array"]}, "requires": {"type": ["string", "array"]},
    "allowed-projects": {"type": ["string", "array"]},
    "post-review": {"type": "boolean"}, "match-on-config-updates": {"type": "boolean"},
    "workspace-scheme": {"enum": ["golang", "flat", "unique"]},
}
PIPELINE = {"type": "object", "additionalProperties": False,
            "properties": {"queue": {"type": "string"}, "fail-fast": {"type": "boolean"},
                           "debug": {"type": "boolean"},
                           "jobs": {"type": "array", "items": {"anyOf": [
                               {"type": "string"},
                               {"type": "object", "minProperties": 1, "maxProperties": 1}]}}}}
ZUUL_SCHEMA = {
    "type": "array",
    "items": {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": {
        "nodeset": {"type": "object", "required": ["name", "nodes"],
                    "additionalProperties": False,
                    "properties": {"name": {"type": "string"}, "nodes": {"type": "array"},
                                   "groups": {"type": "array"}}},
        "project-template": {"type": "object", "required": ["name"],
                             "properties": {"name": {"type": "string"},
                                            "queue": {"type": "string"}},
                             "additionalProperties": PIPELINE},
        "job": {"type": "object", "required": ["name"], "additionalProperties": False,
                "properties": JOB_ATTRIBUTES},
        "project": {"type": "object", "properties": {
            "name": {"type": "string"}, "templates": {"type": "array"},
            "queue": {"type": "string"}, "vars": {"type": "object"},
            "default-branch": {"type": "string"}},
            "additionalProperties": PIPELINE}},
        "additionalProperties": False},
}


def check_zuul(config: list) -> None:
    """The schema plus what Zuul's loader checks across items."""
    jsonschema.validate(config, ZUUL_SCHEMA)
    jobs = [item["job"] for item in config if "job" in item]
    names = [j["name"] for j in jobs]
    assert len(names) == len(set(names)), "job defined twice"
    by_name = {j["name"]: j for j in jobs}
    nodesets = {item["nodeset"]["name"] for item in config if "nodeset" in item}
    for job in jobs:
        # trove-tempest: Trove's devstack job, defined in Trove's own config
        assert job.get("parent") in (None, "base", "trove-tempest") \
            or job["parent"] in by_name, job
        assert job.get("nodeset") is None or job["nodeset"] in nodesets, job
    for item in config:
        stanza = item.get("project") or item.get("project-template") or {}
        for pipeline, body in stanza.items():
            if not isinstance(body, dict):
                continue
            for entry in body.get("jobs", []):
                name = entry if isinstance(entry, str) else next(iter(entry))
                assert name in by_name, f"{pipeline} lists undefined job {name}"
                assert not by_name[name].get("abstract"), f"abstract job {name} in {pipeline}"
                if pipeline == "gate":
                    assert by_name[name].get("voting", True), f"non-voting {name} in gate"


def test_zuul_jobs_vote_exactly_where_stable(history):
    results = history[0]
    proc = cli("gate", "zuul", "--results", str(results), "--catalog", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    check_zuul(config)
    jobs = {i["job"]["name"]: i["job"] for i in config if "job" in i}
    voting = {n for n, j in jobs.items() if j.get("voting")}
    assert voting == {"trove-verify-mariadb"}
    assert jobs["trove-verify-cassandra"]["voting"] is False
    [template] = [i["project-template"] for i in config if "project-template" in i]
    assert template["gate"]["jobs"] == ["trove-verify-mariadb"]
    assert len(template["check"]["jobs"]) == 4
    [project] = [i["project"] for i in config if "project" in i]
    assert project == {"templates": [template["name"]]}
    assert jobs["trove-verify-redis"]["vars"]["trove_verify_strategies"] == ["redis_rdb"]
    # the base job: Debian 12, both checkouts, irrelevant files, the box by default
    base = jobs["trove-verify-base"]
    [nodeset] = [i["nodeset"] for i in config if "nodeset" in i]
    assert base["nodeset"] == nodeset["name"]
    assert nodeset["nodes"][0]["label"] == "debian-bookworm"
    assert set(base["required-projects"]) == {"openstack/trove-verify", "openstack/trove"}
    assert "^doc/.*$" in base["irrelevant-files"]
    assert base["vars"]["trove_verify_backend"] == "box"
    devstack = jobs["trove-verify-devstack"]
    assert devstack["parent"] == "trove-tempest"
    assert devstack["vars"]["trove_verify_backend"] == "trove"
    # why each job votes or not is said on the terminal, not in the YAML
    assert "eligible for stable" in proc.stderr and "Wilson lower bound" in proc.stderr
    assert "no test module in Trove 4.0.0 imports or patches redis" in proc.stderr


def test_zuul_with_no_history_votes_nowhere(tmp_path):
    out = tmp_path / "zuul.yaml"
    proc = cli("gate", "zuul", "--results", str(tmp_path / "none"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(out.read_text())
    check_zuul(config)
    assert not any(i["job"].get("voting") for i in config if "job" in i)
    assert all("gate" not in i["project-template"] for i in config
               if "project-template" in i)
    assert "voting: none" in proc.stdout
    # every playbook a job names is in the repository, where Zuul looks
    for item in config:
        for phase in ("pre-run", "run", "post-run", "cleanup-run"):
            for path in _as_list(item.get("job", {}).get(phase)):
                assert (REPO / path).is_file(), f"{phase} playbook {path} is missing"


def _as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def test_schema_catches_what_zuul_would_refuse():
    bad = [{"job": {"name": "x", "votng": True}}]
    try:
        check_zuul(bad)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a misspelt attribute passed the Zuul schema")
    non_voting_in_gate = [{"job": {"name": "x", "voting": False}},
                          {"project": {"gate": {"jobs": ["x"]}}}]
    try:
        check_zuul(non_voting_in_gate)
    except AssertionError as exc:
        assert "non-voting" in str(exc)
    else:
        raise AssertionError("a non-voting job in gate passed")


def test_descriptions_do_not_change_with_new_local_evidence(history, tmp_path):
    """Only a vote may change the YAML: evidence that leaves every vote as
    it was leaves the file byte for byte the same."""
    before = cli("gate", "zuul", "--results", str(history[0]), "--catalog", str(CATALOG))
    empty = cli("gate", "zuul", "--results", str(tmp_path / "none"), "--catalog", str(CATALOG))
    assert before.returncode == 0 and empty.returncode == 0
    old, new = yaml.safe_load(before.stdout), yaml.safe_load(empty.stdout)

    def descriptions(config):
        return {i["job"]["name"]: i["job"]["description"] for i in config if "job" in i}
    assert descriptions(old) == descriptions(new)


def _zuul_python():
    import os
    from pathlib import Path

    import pytest

    cache = Path(os.environ.get("TROVE_VERIFY_CACHE")
                 or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "trove-verify")
    python = cache / "zuul-venv" / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no Zuul virtualenv at {python.parent.parent}: "
                    "run tools/setup.d/gate-tools.sh")
    return python


def _zuul_parses(python, path):
    import subprocess

    return subprocess.run([str(python), str(REPO / "tests" / "zuul_check.py"), str(path)],
                          capture_output=True, text=True, timeout=300)


def test_zuuls_own_parser_accepts_the_jobs_and_refuses_a_bad_key(tmp_path):
    python = _zuul_python()
    out = tmp_path / "zuul.yaml"
    proc = cli("gate", "zuul", "--results", str(tmp_path / "none"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    ok = _zuul_parses(python, out)
    assert ok.returncode == 0 and ok.stdout.startswith("valid: "), ok.stdout + ok.stderr
    assert "1 nodesets, 1 project-templates, 1 projects" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(out.read_text().replace("voting: false", "votng: false", 1))
    refused = _zuul_parses(python, bad)
    assert refused.returncode == 1 and "extra keys not allowed @ data['votng']" \
        in refused.stdout, refused.stdout + refused.stderr
