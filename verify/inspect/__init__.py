"""Static evidence from a Trove source tree (read as files, never imported).

What it finds, per catalog datastore:
- guest-agent managers: trove/guestagent/datastore/[experimental/]<ds>/manager.py
  (the experimental/ layout is how Trove kept non-stable datastores in 2015);
- the manager registry: any dict literal mapping datastore names to
  ``trove.guestagent.datastore...`` classes (REGISTRY_EXT_DEFAULTS in
  trove/common/constants.py today, ``defaults`` in guestagent/dbaas.py then);
- unit tests per datastore (test files whose path names it) and per
  strategy (test files naming the strategy's Trove class or module);
- Trove's own DIB elements per datastore and OS (<os>[-<release>]-<ds>);
- gate jobs with voting flags (verify/inspect/zuul.py).

The result is written to results/static/inspect-<time>.json; `classify`
reads the newest one.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
from pathlib import Path

from verify.catalog import Catalog
from verify.errors import DataError
from verify.inspect.zuul import ALIASES, datastore_of, gate_jobs

STATIC_DIR = "static"
KIND = "trove-static-evidence"
_TEST_DIRS = ("unittests", "unit")


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def _py_files(root: Path, under: str) -> list[Path]:
    base = root / under
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def managers(root: Path, names: list[str]) -> dict[str, str]:
    out = {}
    for path in sorted((root / "trove" / "guestagent" / "datastore").glob("**/manager.py")):
        ds_dir = path.parent.name
        ds = ALIASES.get(ds_dir, ds_dir)
        if ds in names:
            out[ds] = _rel(path, root)
    return out


def registry(root: Path) -> dict[str, str]:
    """Datastore -> manager class from dict literals in trove/."""
    out: dict[str, str] = {}
    for path in _py_files(root, "trove/common") + _py_files(root, "trove/guestagent"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Dict) or not node.keys:
                continue
            try:
                value = ast.literal_eval(node)
            except ValueError:
                continue
            if all(isinstance(k, str) and isinstance(v, str)
                   and v.startswith("trove.guestagent.datastore.") for k, v in value.items()):
                out.update(value)
    return dict(sorted(out.items()))


def _test_files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(part in _TEST_DIRS for part in Path(dirpath).relative_to(root).parts):
            found += [Path(dirpath) / f for f in filenames
                      if f.startswith("test") and f.endswith(".py")]
    return sorted(found)


def unit_tests(root: Path, catalog: Catalog) -> tuple[dict, dict]:
    names = [ds.name for ds in catalog]
    per_ds: dict[str, list[str]] = {n: [] for n in names}
    per_strategy: dict[str, list[str]] = {
        f"{ds.name}/{s.name}": [] for ds in catalog for s in ds.strategies}
    for path in _test_files(root):
        rel = _rel(path, root)
        ds = datastore_of(rel.replace("/", " "), names)
        if ds:
            per_ds[ds].append(rel)
        text = path.read_text(encoding="utf-8", errors="replace")
        stem_tokens = set(re.split(r"[^a-z0-9]+", path.stem.lower()))
        for d in catalog:
            for s in d.strategies:
                # a name in a shared driver map is not a test of it: ask for use
                named = len(re.findall(rf"\b{re.escape(s.trove_name)}\b", text)) >= 2
                if named or s.name.lower() in stem_tokens:
                    per_strategy[f"{d.name}/{s.name}"].append(rel)
    return per_ds, per_strategy


def trove_elements(root: Path, names: list[str]) -> dict:
    """{datastore or "guest": {os: [element, ...]}} from every elements/ dir."""
    out: dict[str, dict[str, list[str]]] = {}
    for elements_dir in sorted(root.glob("**/elements")):
        if not elements_dir.is_dir() or ".git" in elements_dir.parts:
            continue
        for element in sorted(p for p in elements_dir.iterdir() if p.is_dir()):
            tokens = element.name.lower().split("-")
            for i, token in enumerate(tokens):
                ds = ALIASES.get(token, token)
                if ds in names or ds == "guest":
                    os_name = "-".join(tokens[:i]) or "any"
                    out.setdefault(ds, {}).setdefault(os_name, []).append(element.name)
                    break
    return out


def inspect(root: Path, catalog: Catalog) -> dict:
    root = Path(root)
    if not (root / "trove").is_dir():
        raise DataError("not a Trove source tree (no trove/ package in it)", where=str(root),
                        fix="give the top of a Trove checkout or an unpacked sdist")
    names = [ds.name for ds in catalog]
    problems: list[str] = []
    per_ds, per_strategy = unit_tests(root, catalog)
    jobs = gate_jobs(root, names, problems)
    for job in jobs:
        job["subject"] = job["datastore"]
    version = None
    pkg_info = root / "PKG-INFO"
    if pkg_info.is_file():
        m = re.search(r"^Version: (\S+)", pkg_info.read_text(errors="replace"), re.M)
        version = m.group(1) if m else None
    return {
        "kind": KIND,
        "inspected": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(root.resolve()),
        "trove_version": version,
        "managers": managers(root, names),
        "registry": registry(root),
        "unit_tests": per_ds,
        "strategy_unit_tests": per_strategy,
        "trove_elements": trove_elements(root, names),
        "gate_jobs": jobs,
        "problems": problems,
    }


def write(results_root: Path, static: dict) -> Path:
    target_dir = Path(results_root) / STATIC_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = static["inspected"].replace(":", "").replace("-", "").replace("+0000", "Z")
    path = target_dir / f"inspect-{stamp}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(static, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def latest(results_root: Path) -> tuple[dict, Path | None]:
    """The newest inspection under results/static/, or ({}, None)."""
    files = sorted((Path(results_root) / STATIC_DIR).glob("inspect-*.json"))
    for path in reversed(files):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("kind") == KIND:
            return data, path
    return {}, None
