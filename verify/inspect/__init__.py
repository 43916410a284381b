"""Static evidence from a Trove source tree (read as files, never imported).

What it finds, per catalog datastore (verify/inspect/tree.py reads it):
- the guest-agent manager the tree registers, and its placement
  (``guestagent/datastore/experimental/`` held the non-stable datastores
  before Victoria);
- how Trove builds the guest (per-datastore DIB elements, or one guest
  image plus container images) and the OS those elements name;
- unit tests per datastore and per strategy, by what test modules import
  or patch;
- the strategies the tree defines;
- gate jobs with voting flags (verify/inspect/zuul.py).

The result is written to results/static/inspect-<time>.json; `classify`
reads the newest one and names the tree in every verdict.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

from verify.catalog import Catalog
from verify.errors import DataError
from verify.inspect import tree
from verify.inspect.zuul import gate_jobs

STATIC_DIR = "static"
KIND = "trove-static-evidence"
FORMAT = 2      # 2: managers as objects, guest_images, strategies


def inspect(root: Path, catalog: Catalog, origin: str | None = None) -> dict:
    """origin: how the tree was obtained (e.g. "trove==13.0.1 from PyPI")."""
    root = Path(root)
    if not (root / "trove").is_dir():
        raise DataError("not a Trove source tree (no trove/ package in it)", where=str(root),
                        fix="give the top of a Trove checkout or an unpacked sdist, "
                            "or trove==VERSION")
    names = [ds.name for ds in catalog]
    problems: list[str] = []
    registered = tree.registry(root)
    managed = tree.managers(root, names, registered)
    defined = tree.strategies(root, catalog, managed)
    per_ds, per_strategy = tree.unit_tests(root, catalog, managed, defined)
    mechanism = tree.image_mechanism(root)
    found = tree.elements(root, names)
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
        "format": FORMAT,
        "inspected": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": str(root.resolve()),
        "origin": origin or "directory",
        "trove_version": version,
        "managers": managed,
        "registry": registered,
        "image_mechanism": mechanism,
        "trove_elements": found,
        "guest_images": tree.guest_images(mechanism, found, managed),
        "unit_tests": per_ds,
        "strategies": defined,
        "strategy_unit_tests": per_strategy,
        "gate_jobs": jobs,
        "problems": problems,
    }


def tree_name(static: dict) -> str:
    """"Trove 26.0.0" or "Trove (version unknown) at PATH": named in every verdict."""
    if not static:
        return "no Trove tree inspected"
    version = static.get("trove_version")
    return f"Trove {version}" if version else f"Trove tree at {static.get('source')}"


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
        if isinstance(data, dict) and data.get("kind") == KIND \
                and data.get("format") == FORMAT:
            return data, path
    return {}, None
