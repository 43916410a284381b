"""Adding a datastore = one engine package + one elements folder + one catalog
entry. These tests fail when the three disagree."""

import ast
import subprocess
import sys

from tests.conftest import REPO
from verify import catalog, engines
from verify.backends.base import FLAVORS

ELEMENTS = REPO / "elements"
ENGINES = REPO / "verify" / "engines"


def test_every_catalog_element_exists():
    for ds in catalog.load():
        for os_ in ds.supported_os:
            for element in os_.elements:
                assert (ELEMENTS / element).is_dir(), f"{ds.name}/{os_.name}: {element}"


def test_every_element_is_used_by_the_catalog():
    from verify.images import HARNESS_ELEMENTS

    # elements the image builder adds itself (guest-no-kernel for namespace images)
    used = {e for ds in catalog.load() for e in ds.elements} | set(HARNESS_ELEMENTS)
    for path in ELEMENTS.iterdir():
        if path.is_dir():
            assert path.name in used, f"elements/{path.name} is named by no catalog entry"


def test_every_engine_package_is_named_by_the_catalog_and_complete():
    named = {ds.engine_module for ds in catalog.load()} - {None}
    # mysql_family is code the MySQL-family engines share, not an engine
    packages = {p.parent.name for p in ENGINES.glob("*/__init__.py")} - {"mysql_family"}
    assert packages <= named, f"engine packages no catalog entry uses: {packages - named}"
    for name in named:
        assert (ENGINES / name / "server.py").is_file(), f"verify/engines/{name}/ lacks server.py"
        assert (ENGINES / name / "client.py").is_file(), f"verify/engines/{name}/ lacks client.py"
        engine = engines.load(name)
        assert engine.name == name, f"verify/engines/{name}/ describes {engine.name}"
        assert engine.default_port > 0, f"{name}: no default port"
        assert callable(engine.connect), f"{name}: no client"


def test_engines_accept_what_the_catalog_accepts():
    for ds in catalog.load():
        if ds.engine_module is None:
            continue
        engine = engines.load(ds.engine_module)
        assert set(engine.identities) == set(ds.engines), \
            f"{ds.name}: the catalog accepts {ds.engines}, the engine reports {engine.identities}"
        assert engine.cluster_flavor in FLAVORS, f"{ds.name}: unknown {engine.cluster_flavor}"


def test_no_flat_modules_left_in_engines():
    # shared infrastructure only; everything a datastore needs is in its package
    shared = {"__init__", "base", "capabilities", "_staging", "_template"}
    flat = {p.stem for p in ENGINES.glob("*.py")} - shared
    assert not flat, f"move into verify/engines/<datastore>/: {sorted(flat)}"


def _engine_imports(path):
    """verify.engines.* modules path imports, at any depth (lazy ones too)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("verify.engines"):
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def test_engine_modules_import_no_circle():
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts): p
               for p in ENGINES.rglob("*.py")}
    modules = {m.removesuffix(".__init__"): p for m, p in modules.items()}
    # a package's __init__ describes the engine from its modules; they never import it
    graph = {m: {i for i in _engine_imports(p) if i in modules and i != m}
             for m, p in modules.items()}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join(path + (module,))}"
        if module in done:
            return
        for dep in graph[module]:
            if module.startswith(dep + "."):    # a module importing its own package's names
                continue
            visit(dep, path + (module,))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_elements_follow_dib_layout():
    for path in ELEMENTS.iterdir():
        assert (path / "README.rst").is_file(), path.name
        for phase in ("install.d", "post-install.d", "pre-install.d", "root.d",
                      "extra-data.d", "finalise.d"):
            for script in (path / phase).glob("*") if (path / phase).is_dir() else []:
                assert script.stat().st_mode & 0o111, f"{script} is not executable"


def test_ruff_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "verify", "tests", "bench"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_modules_stay_small():
    for path in (REPO / "verify").rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 450, f"{path.relative_to(REPO)} has {lines} lines: split it"
