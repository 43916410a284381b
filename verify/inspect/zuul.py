"""Gate jobs and their voting flags from a Trove tree's Zuul config.

Reads Zuul v3 config (.zuul.yaml, zuul.yaml, zuul.d/, .zuul.d/) and the
older project-config layout (zuul/layout.yaml: job regexes with
`voting: false`, project pipelines listing job names) that Trove's
gate used until 2017. A job's datastore comes from its vars
(enabled_datastores, trove_datastore, datastore) or from its name.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# names Trove's jobs and directories use for catalog datastores
ALIASES = {"postgres": "postgresql", "percona-xtradb-cluster": "pxc"}
ZUUL_V3 = (".zuul.yaml", "zuul.yaml")
ZUUL_DIRS = ("zuul.d", ".zuul.d")
VOTING_PIPELINES = ("check", "gate")


def datastore_of(text: str, names: list[str]) -> str | None:
    """The catalog datastore a job or file name speaks of (longest match)."""
    tokens = set(re.split(r"[^a-z0-9]+", text.lower()))
    tokens |= {ALIASES[t] for t in tokens if t in ALIASES}
    hits = [n for n in names if n in tokens]
    return max(hits, key=len) if hits else None


class _ZuulLoader(yaml.SafeLoader):
    """Safe loading that keeps Zuul's own tags (!inherit, !encrypted/...) as
    their plain values instead of refusing the file."""


def _untagged(loader, suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_ZuulLoader.add_multi_constructor("!", _untagged)


def _load(path: Path, problems: list[str]):
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_ZuulLoader) or []
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path}: unreadable ({type(exc).__name__})")
        return []


def _find_var(obj, keys=("enabled_datastores", "trove_datastore", "datastore")):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and isinstance(v, str):
                return v
            found = _find_var(v, keys)
            if found:
                return found
    return None


def _v3(files: list[Path], root: Path, names: list[str], problems: list[str]) -> list[dict]:
    jobs: dict[str, dict] = {}
    listed: dict[str, dict] = {}
    for path in files:
        doc = _load(path, problems)
        for item in doc if isinstance(doc, list) else []:
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("job"), dict) and "name" in item["job"]:
                job = item["job"]
                jobs[job["name"]] = dict(job, _source=str(path.relative_to(root)))
            project = item.get("project")
            if isinstance(project, dict):
                for pipeline in VOTING_PIPELINES + ("experimental",):
                    entries = (project.get(pipeline) or {}).get("jobs") or []
                    for entry in entries:
                        name, over = (entry, {}) if isinstance(entry, str) else \
                            next(iter(entry.items())) if isinstance(entry, dict) else (None, {})
                        if name is None:
                            continue
                        rec = listed.setdefault(name, {"pipelines": [], "voting": None,
                                                       "listed_in": path})
                        rec["pipelines"].append(pipeline)
                        if isinstance(over, dict) and "voting" in over:
                            rec["voting"] = bool(over["voting"])
    out = []
    for name, rec in listed.items():
        job = jobs.get(name, {})
        voting = rec["voting"]
        parent, seen = job, set()
        while voting is None and parent:     # voting is inherited from parents
            if "voting" in parent:
                voting = bool(parent["voting"])
            seen.add(parent.get("name"))
            nxt = parent.get("parent")
            parent = jobs.get(nxt) if nxt not in seen else None
        if voting is None:
            voting = True
        if rec["pipelines"] == ["experimental"]:
            voting = False                   # the experimental pipeline never votes
        ds = datastore_of(_find_var(job.get("vars")) or "", names) or datastore_of(name, names)
        out.append({"name": name, "datastore": ds, "voting": voting,
                    "pipelines": sorted(set(rec["pipelines"])), "layout": "zuul-v3",
                    "source": job.get("_source") or str(rec["listed_in"].relative_to(root))})
    return out


def _legacy(path: Path, root: Path, names: list[str], problems: list[str]) -> list[dict]:
    """project-config's zuul/layout.yaml (Zuul v2)."""
    doc = _load(path, problems)
    if not isinstance(doc, dict):
        return []
    rules = [(j["name"], j.get("voting", True)) for j in doc.get("jobs") or []
             if isinstance(j, dict) and "name" in j]
    out = []
    for project in doc.get("projects") or []:
        if not isinstance(project, dict) or "trove" not in str(project.get("name", "")):
            continue
        for pipeline in VOTING_PIPELINES + ("experimental",):
            for name in project.get(pipeline) or []:
                if not isinstance(name, str):
                    continue
                voting = True
                for pattern, flag in rules:
                    if re.fullmatch(pattern.lstrip("^").rstrip("$"), name) or pattern == name:
                        voting = bool(flag)
                if pipeline == "experimental":
                    voting = False
                out.append({"name": name, "datastore": datastore_of(name, names),
                            "voting": voting, "pipelines": [pipeline],
                            "layout": "project-config", "source": str(path.relative_to(root))})
    merged: dict[str, dict] = {}
    for job in out:       # the same job listed in check and gate is one job
        if job["name"] in merged:
            merged[job["name"]]["pipelines"] = sorted(set(merged[job["name"]]["pipelines"]
                                                          + job["pipelines"]))
            merged[job["name"]]["voting"] = merged[job["name"]]["voting"] or job["voting"]
        else:
            merged[job["name"]] = job
    return list(merged.values())


def gate_jobs(root: Path, names: list[str], problems: list[str]) -> list[dict]:
    files = [root / f for f in ZUUL_V3 if (root / f).is_file()]
    for d in ZUUL_DIRS:
        if (root / d).is_dir():
            files += sorted((root / d).glob("*.yaml"))
    jobs = _v3(files, root, names, problems) if files else []
    for layout in sorted(root.glob("**/zuul/layout.yaml")):
        jobs += _legacy(layout, root, names, problems)
    return sorted(jobs, key=lambda j: j["name"])
