"""What a Trove source tree itself says, read the way its era works.

Everything is read as files and parsed with ``ast``, never imported:
- the manager registry (``defaults`` in guestagent/dbaas.py before
  Victoria, ``REGISTRY_EXT_DEFAULTS`` in common/constants.py after) names
  each datastore's guest-agent manager; its module must exist in the tree,
  and its placement (``datastore/experimental/`` or top level) is kept;
- the image mechanism: per-datastore DIB elements (``<os>[-<release>]-<ds>``)
  before containerization, one common guest image (``<os>-guest``) plus
  datastore container images after (a guest agent that drives docker);
- unit tests: a test module tests a datastore or strategy when it imports
  or patches (a dotted string naming) that datastore's or strategy's code;
- strategies: classes (backup, restore, replication) and cluster strategy
  packages the tree really defines.
"""

from __future__ import annotations

import ast
import os
import warnings
from pathlib import Path

from verify.catalog import Catalog
from verify.inspect.zuul import ALIASES

_TEST_DIRS = ("unittests", "unit")
# where a Trove tree keeps strategy classes (backup/drivers since containerization)
_STRATEGY_DIRS = ("trove/guestagent/strategies", "backup/drivers")
_CLUSTER_DIR = "trove/common/strategies/cluster"
_CONTAINER_MARK = "trove/guestagent/utils/docker.py"


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def _parse(path: Path) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            # old trees hold invalid escapes in strings: their problem, not ours
            warnings.simplefilter("ignore")
            return ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return None


def _py_files(root: Path, under: str) -> list[Path]:
    base = root / under
    return sorted(base.rglob("*.py")) if base.is_dir() else []


def _module_of(rel: str) -> str:
    """trove/guestagent/x/manager.py -> trove.guestagent.x.manager"""
    return rel[:-3].replace("/", ".").removesuffix(".__init__")


def registry(root: Path) -> dict[str, str]:
    """Datastore -> manager class from dict literals in trove/common and trove/guestagent."""
    out: dict[str, str] = {}
    for path in _py_files(root, "trove/common") + _py_files(root, "trove/guestagent"):
        tree = _parse(path)
        if tree is None:
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


def managers(root: Path, names: list[str], registered: dict[str, str]) -> dict[str, dict]:
    """Catalog datastore -> its registered manager whose module exists in the tree."""
    out = {}
    for key, cls in registered.items():
        ds = ALIASES.get(key, key)
        module = cls.rsplit(".", 1)[0]
        rel = module.replace(".", "/") + ".py"
        if ds not in names or not (root / rel).is_file():
            continue
        package = module.rsplit(".", 1)[0]
        out[ds] = {"class": cls, "file": rel, "package": package,
                   "placement": "experimental" if ".experimental." in module else "top-level"}
    return out


def image_mechanism(root: Path) -> str:
    """container: one guest image + datastore container images (Victoria on);
    elements: one DIB element per datastore and OS (before)."""
    return "container" if (root / _CONTAINER_MARK).is_file() else "elements"


def elements(root: Path, names: list[str]) -> dict[str, dict[str, list[str]]]:
    """{datastore or "guest": {os: [element, ...]}} from every elements/ dir."""
    out: dict[str, dict[str, list[str]]] = {}
    for elements_dir in sorted(root.glob("**/elements")):
        if not elements_dir.is_dir() or ".git" in elements_dir.parts:
            continue
        for element in sorted(p for p in elements_dir.iterdir() if p.is_dir()):
            tokens = element.name.lower().split("-")
            for i, token in enumerate(tokens):
                ds = ALIASES.get(token, token)
                if (ds in names or ds == "guest") and i > 0:
                    os_name = "-".join(tokens[:i])
                    out.setdefault(ds, {}).setdefault(os_name, []).append(element.name)
                    break
    return out


def guest_images(mechanism: str, found: dict, managed: dict) -> dict[str, dict]:
    """Per datastore: how Trove builds its guest and for which OS.

    elements era: the datastore's own elements (plus a guest element of
    the same OS); container era: the common guest image, for a datastore
    the guest agent manages (its engine comes as a container image).
    """
    out = {}
    guest = found.get("guest", {})
    for ds in set(found) - {"guest"} | set(managed):
        if mechanism == "elements":
            own = found.get(ds, {})
            out[ds] = {"mechanism": "per-datastore DIB elements",
                       "os": sorted(own), "elements": sorted(e for v in own.values() for e in v)}
        elif ds in managed:
            out[ds] = {"mechanism": "common guest image + container image",
                       "os": sorted(guest),
                       "elements": sorted(e for v in guest.values() for e in v)}
    return dict(sorted(out.items()))


def test_files(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        if any(part in _TEST_DIRS for part in Path(dirpath).relative_to(root).parts):
            found += [Path(dirpath) / f for f in filenames
                      if f.startswith("test") and f.endswith(".py")]
    return sorted(found)


def _dict_literals(tree: ast.Module) -> dict[str, dict]:
    """Module-level NAME = {"key": "dotted.value", ...} assignments."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = value
    return out


def references(tree: ast.Module) -> set[str]:
    """Dotted names a test module imports or hands to a call (mock.patch
    targets, importutils.import_class arguments, also through a lookup in a
    module-level dict). A name merely listed in a shared map is no test of it."""
    out: set[str] = set()
    maps = _dict_literals(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call):
            for arg in list(node.args) + [k.value for k in node.keywords]:
                text = _string_of(arg, maps)
                if text:
                    out.add(text)
    return out


def _string_of(node: ast.expr, maps: dict[str, dict]) -> str | None:
    """A call argument's string value: a literal, MAP['key'], or a + of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and isinstance(node.slice, ast.Constant)):
        found = maps.get(node.value.id, {}).get(node.slice.value)
        return found if isinstance(found, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string_of(node.left, maps), _string_of(node.right, maps)
        return left + right if left is not None and right is not None else None
    return None


def _names_code(refs: set[str], module: str) -> bool:
    return any(r == module or r.startswith(module + ".") for r in refs)


def strategies(root: Path, catalog: Catalog, managed: dict) -> dict[str, dict]:
    """"ds/strategy" -> where the tree defines it (class or cluster package)."""
    classes: dict[str, tuple[str, str]] = {}          # lower name -> (module, file)
    for under in _STRATEGY_DIRS:
        for path in _py_files(root, under):
            tree = _parse(path)
            for node in (tree.body if tree else []):
                if isinstance(node, ast.ClassDef):
                    rel = _rel(path, root)
                    classes.setdefault(node.name.lower(), (_module_of(rel), rel))
    clusters = {p.parent.name: p.parent for p in sorted(
        (root / _CLUSTER_DIR).glob("**/__init__.py")) if p.parent != root / _CLUSTER_DIR}
    out = {}
    for ds in catalog:
        for s in ds.strategies:
            name = s.trove_name
            if s.capability == "cluster" and name in clusters:
                rel = _rel(clusters[name], root)
                out[f"{ds.name}/{s.name}"] = {"defined_as": name, "module": _module_of(
                    rel + "/__init__.py"), "file": rel}
            elif name.lower() in classes:
                module, rel = classes[name.lower()]
                cls = next(n.name for n in ast.walk(_parse(root / rel))
                           if isinstance(n, ast.ClassDef) and n.name.lower() == name.lower())
                out[f"{ds.name}/{s.name}"] = {"defined_as": cls, "module": module, "file": rel}
    return out


def unit_tests(root: Path, catalog: Catalog, managed: dict,
               defined: dict) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Test modules per datastore (its manager's package) and per strategy
    (the module defining it), by what each test module imports or patches."""
    per_ds: dict[str, list[str]] = {ds.name: [] for ds in catalog}
    per_strategy: dict[str, list[str]] = {
        f"{ds.name}/{s.name}": [] for ds in catalog for s in ds.strategies}
    for path in test_files(root):
        tree = _parse(path)
        if tree is None:
            continue
        refs = references(tree)
        rel = _rel(path, root)
        for ds, manager in managed.items():
            if _names_code(refs, manager["package"]):
                per_ds[ds].append(rel)
        for key, where in defined.items():
            if _names_code(refs, where["module"]):
                per_strategy[key].append(rel)
    return per_ds, per_strategy
