"""release --run's matrix: what runs here, how many at once, the HTML table,
and the Zuul job set that fans it out."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import cli
from verify import catalog, release_matrix
from verify.errors import UsageError
from verify.report import release


def test_parallel_bound_fits_cores_and_memory():
    assert release_matrix.parallel_bound(2, 24_000) == 2
    assert release_matrix.parallel_bound(8, 5_000) == 2      # memory binds first
    assert release_matrix.parallel_bound(4, 100) == 1        # never zero


def test_the_matrix_lists_every_datastore_and_says_which_cannot_run():
    runs = release_matrix.matrix(catalog.default())
    assert [r.datastore for r in runs] == [ds.name for ds in catalog.default()]
    by_name = {r.datastore: r for r in runs}
    assert by_name["percona"].status == "cannot-run" and by_name["percona"].reason
    assert by_name["mariadb"].status == "pending"
    assert by_name["mariadb"].versions == ["10.11", "11.8"]
    assert by_name["mariadb"].tier == catalog.default().get("mariadb").claimed_tier
    with pytest.raises(UsageError, match="unknown datastore 'nope'"):
        release_matrix.matrix(catalog.default(), ["nope"])


def test_the_html_table_escapes_and_links_the_evidence():
    record = {"cycle": "2027.1", "previous": None,
              "verdicts": {"redis": {"tier": "experimental", "standing": "classified",
                                     "eligible_tier": None, "evidence": ["r<1>"]}},
              "diff": {"promotions": [], "demotions": [], "retired": [],
                       "new": [{"subject": "redis", "tier": "experimental"}]}}
    page = release.html(record)
    assert "r&lt;1&gt;" in page and 'href="../r&lt;1&gt;/run.json"' in page
    assert "<li>new: redis (experimental)</li>" in page


def test_release_via_zuul_writes_the_fan_out_jobs(tmp_path):
    out = tmp_path / "fan.yaml"
    proc = cli("release", "2027.1", "--run", "--via", "zuul", "-o", str(out),
               "--results", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(out.read_text())
    [template] = [i["project-template"] for i in config if "project-template" in i]
    assert template["name"] == "trove-verify-release-2027-1"
    runnable = [ds.name for ds in catalog.default() if ds.engine_module]
    assert template["periodic"]["jobs"] == [f"trove-verify-{n}" for n in runnable]
    jobs = {i["job"]["name"] for i in config if "job" in i}
    assert set(template["periodic"]["jobs"]) <= jobs
    from tests.unit.test_gate_zuul import _zuul_parses, _zuul_python

    parsed = _zuul_parses(_zuul_python(), out)
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr


def test_run_options_without_run_are_refused(tmp_path):
    proc = cli("release", "2027.1", "--jobs", "2", "--results", str(tmp_path))
    assert proc.returncode == 64 and "go with --run" in proc.stderr
    assert "Traceback" not in proc.stderr
