"""Validate Zuul configuration YAML with Zuul's own parser (run by the Python
of the Zuul virtualenv that tools/setup.d/gate-tools.sh makes):

    ZUUL_VENV/bin/python tests/zuul_check.py FILE

Loads FILE as Zuul loads a config file (configloader.safe_load_yaml, then
model.UnparsedConfig), then checks every item against the schema of its
parser (JobParser, NodeSetParser, ProjectTemplateParser, ProjectParser).
Prints each error and exits 1 if there is one. It cannot check that a parent
job or nodeset defined elsewhere exists (that needs the whole tenant).
"""

import sys

import voluptuous
from zuul import configloader, model


def main(path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    context = model.SourceContext("example.org/openstack/trove-verify",
                                  "openstack/trove-verify", "gerrit", "master",
                                  "zuul.d/trove-verify.yaml")
    config = model.UnparsedConfig()
    config.extend(configloader.safe_load_yaml(text, context))
    checks = [(configloader.JobParser.schema, config.jobs),
              (configloader.NodeSetParser(None).schema, config.nodesets),
              (configloader.ProjectTemplateParser(None).schema, config.project_templates),
              (configloader.ProjectParser(None).schema, config.projects)]
    errors = 0
    for schema, items in checks:
        for item in items:
            try:
                schema(item)
            except voluptuous.Invalid as exc:
                errors += 1
                print(f"{item.get('name', '(project)')}: {exc}")
    counts = ", ".join(f"{len(items)} {kind}" for kind, items in (
        ("jobs", config.jobs), ("nodesets", config.nodesets),
        ("project-templates", config.project_templates), ("projects", config.projects)))
    print(f"{'invalid' if errors else 'valid'}: {counts}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
