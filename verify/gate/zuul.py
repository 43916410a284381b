"""Zuul jobs a Trove gate can adopt: one job per datastore scenario set.

- Every job runs on an explicit Debian 12 nodeset (tools/setup.sh is written
  for Debian 12) with trove-verify and openstack/trove checked out; the run
  playbook addresses each by name in zuul.projects, never zuul.project (that
  is Trove's checkout when a Trove change triggers the job).
- The jobs run the Trove box by default, with the Trove under test taken
  from Zuul's checkout, so a Trove change is verified by its own code. A
  devstack variant parented on Trove's devstack job runs `--backend trove`.
- `voting: true` exactly where the datastore's verdict is stable; only voting
  jobs go into the gate pipeline (Zuul refuses a non-voting job there).
- Descriptions come from the catalog alone, so new local evidence changes
  the YAML only when a vote changes.
"""

from __future__ import annotations

import yaml

from verify.catalog import Catalog
from verify.classify import Verdict

PROJECT = "openstack/trove-verify"
TROVE = "openstack/trove"
NODESET = "trove-verify-debian-bookworm"
NODE_LABEL = "debian-bookworm"
BASE_JOB = "trove-verify-base"
TEMPLATE = "trove-verify-jobs"
# Trove's devstack + tempest job (trove-tempest-plugin's zuul config)
DEVSTACK_PARENT = "trove-tempest"
DEVSTACK_JOB = "trove-verify-devstack"
# since Trove 14 (Victoria) Trove's guest agent serves only these datastores
TROVE_AGENT_DATASTORES = ("mysql", "mariadb", "postgresql")
# pre: the README's set-up; run: one scenario set; post: bundles to the logs
PLAYBOOKS = {"pre-run": "playbooks/gate/pre.yaml", "run": "playbooks/gate/run.yaml",
             "post-run": "playbooks/gate/post.yaml"}
# changes that cannot alter a verdict, in either repository
IRRELEVANT_FILES = [
    r"^.*\.rst$", r"^README\.md$", r"^doc/.*$", r"^api-ref/.*$", r"^releasenotes/.*$",
    r"^bench/.*$", r"^results/.*$", r"^trove/tests/unit/.*$", r"^tests/unit/.*$",
    r"^\.gitignore$", r"^LICENSE$",
]


def why(v: Verdict | None) -> str:
    """Why a datastore's job votes or not, in words (for the terminal: it
    depends on local evidence, so it stays out of the YAML)."""
    if v is None:
        return "no verdict: non-voting"
    if v.tier == "stable":
        return "tier stable (classified): voting"
    words = f"tier {v.tier}"
    if v.standing == "eligible":
        words += f", eligible for {v.eligible_tier}"
    needs = [u for u in v.unmet if u.tier == v.unmet[0].tier] if v.unmet else []
    if needs:
        words += "; needs " + "; ".join(f"{u.id}: {u.why}" for u in needs)
    return words + ": non-voting"


def job_name(datastore: str) -> str:
    return f"trove-verify-{datastore}"


def _job_vars(ds) -> dict:
    return {"trove_verify_datastore": ds.name,
            "trove_verify_tier": ds.claimed_tier,
            "trove_verify_versions": [x.name for x in ds.versions],
            "trove_verify_capabilities": list(ds.capabilities),
            "trove_verify_strategies": [s.name for s in ds.strategies]}


def jobs(catalog: Catalog, verdicts: list[Verdict], *, project: str = PROJECT) -> list[dict]:
    by_subject = {v.subject: v for v in verdicts}
    required = [project, TROVE]
    config: list[dict] = [
        {"nodeset": {"name": NODESET, "nodes": [{"name": "controller",
                                                  "label": NODE_LABEL}]}},
        {"job": {
            "name": BASE_JOB, "abstract": True, "parent": "base",
            "description": "Runs trove-verify for one datastore in the Trove box (the "
                           "Trove under test from Zuul's checkout) and keeps the "
                           "evidence bundle in the job logs.",
            "nodeset": NODESET, **PLAYBOOKS, "timeout": 3600,
            "required-projects": list(required), "irrelevant-files": list(IRRELEVANT_FILES),
            "vars": {"trove_verify_project": project, "trove_verify_trove_project": TROVE,
                     "trove_verify_backend": "box"}}},
        {"job": {
            "name": DEVSTACK_JOB, "abstract": True, "parent": DEVSTACK_PARENT,
            "description": "Runs trove-verify with --backend trove against the Trove "
                           "that devstack deployed (Trove's own devstack job), after "
                           "its tempest run.",
            "required-projects": list(required), "irrelevant-files": list(IRRELEVANT_FILES),
            "post-run": PLAYBOOKS["run"].replace("run.yaml", "devstack.yaml"),
            "vars": {"trove_verify_project": project, "trove_verify_trove_project": TROVE,
                     "trove_verify_backend": "trove",
                     # devstack/plugin.sh installs the CLI into devstack's venv
                     "trove_verify_cli": ["/opt/stack/data/venv/bin/trove-verify"],
                     "devstack_plugins": {
                         "trove-verify": "https://{{ zuul.project.canonical_hostname }}/"
                                         + project}}}},
    ]
    names, devstack = [], []
    for ds in catalog:
        v = by_subject.get(ds.name)
        voting = v is not None and v.tier == "stable"
        name = job_name(ds.name)
        names.append((name, voting))
        config.append({"job": {
            "name": name, "parent": BASE_JOB, "voting": voting,
            "description": f"{ds.name} scenario set sized to the tier the catalog "
                           f"claims ({ds.claimed_tier}); votes while trove-verify "
                           f"classifies {ds.name} stable.",
            "vars": _job_vars(ds)}})
        if ds.name not in TROVE_AGENT_DATASTORES:
            continue
        devstack.append(f"{name}-devstack")
        config.append({"job": {
            "name": f"{name}-devstack", "parent": DEVSTACK_JOB, "voting": False,
            "description": f"{ds.name} scenario set through devstack's Trove "
                           f"(--backend trove); non-voting: it depends on devstack.",
            "vars": _job_vars(ds)}})
    template: dict = {"name": TEMPLATE, "check": {"jobs": [n for n, _ in names]}}
    gate = [n for n, voting in names if voting]
    if gate:
        template["gate"] = {"jobs": gate}
    if devstack:    # a full devstack per datastore: on request ("check experimental")
        template["experimental"] = {"jobs": devstack}
    config.append({"project-template": template})
    config.append({"project": {"templates": [TEMPLATE]}})
    return config


def render(config: list[dict]) -> str:
    head = ("# Generated by `trove-verify gate zuul` from the catalog and the current\n"
            "# verdicts: voting exactly where the tier is stable. A Trove gate adopts\n"
            f"# it with `templates: [{TEMPLATE}]` in its project stanza.\n")
    return head + yaml.safe_dump(config, sort_keys=False, width=100)


def release_jobs(catalog: Catalog, cycle: str, only: list[str] | None = None, *,
                 project: str = PROJECT) -> list[dict]:
    """The job set that fans a release's matrix out across Zuul nodes: the
    jobs above, and a project-template that runs every datastore with an
    engine (its job's bundle lands in the job logs, for `trove-verify import`)."""
    config = [item for item in jobs(catalog, [], project=project)
              if "project-template" not in item and "project" not in item]
    names = [job_name(ds.name) for ds in catalog
             if ds.engine_module and (not only or ds.name in only)]
    config.append({"project-template": {
        "name": f"trove-verify-release-{cycle}".replace(".", "-"),
        "periodic": {"jobs": names}}})
    return config
