"""Small things a hostile tester tried: worker counts below one and version
strings the catalog does not know are usage errors (exit 64, one line),
refused before anything is created."""

from __future__ import annotations

import pytest

from tests.conftest import cli
from verify.errors import EXIT_USAGE


def _one_line(proc) -> str:
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("trove-verify:")]
    assert len(said) == 1 and proc.stderr.strip().endswith(said[0]), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    return said[0]


@pytest.mark.parametrize("workers", ["0", "-5"])
def test_workers_below_one_are_a_usage_error(tmp_path, workers):
    proc = cli("run", "redis", "--guest", "process", "--tier", "experimental",
               "--workers", workers,
               env={"TROVE_VERIFY_WORKDIR": str(tmp_path / "w"),
                    "TROVE_VERIFY_RESULTS": str(tmp_path / "results")}, timeout=120)
    line = _one_line(proc)
    assert proc.returncode == EXIT_USAGE, proc.stdout + proc.stderr
    assert "--workers" in line and "at least 1" in line, line
    assert not (tmp_path / "results").exists()    # refused before any run started


@pytest.mark.parametrize("version", ["10.11; rm -rf /", "10.11\nrm -rf /", "", "99.9"])
def test_unknown_versions_are_a_usage_error_naming_the_catalogs(tmp_path, version):
    proc = cli("run", "mariadb", "--version", version,
               env={"TROVE_VERIFY_WORKDIR": str(tmp_path / "w"),
                    "TROVE_VERIFY_RESULTS": str(tmp_path / "results")}, timeout=120)
    line = _one_line(proc)
    assert proc.returncode == EXIT_USAGE, proc.stdout + proc.stderr
    assert "10.11" in line and "11.8" in line, line    # the catalog's versions
    assert not (tmp_path / "results").exists() and not (tmp_path / "w" / "state").exists()
