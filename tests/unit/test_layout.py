"""Adding a datastore = one engine package + one elements folder + one catalog
entry. These tests fail when the three disagree."""

import importlib
import subprocess
import sys

from tests.conftest import REPO
from verify import catalog

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
        module = importlib.import_module(f"verify.engines.{name}")
        for attr in ("ENGINE", "SERVER", "connect"):
            assert hasattr(module, attr), f"verify/engines/{name}/ lacks {attr}"


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
