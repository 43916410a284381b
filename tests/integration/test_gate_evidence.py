"""A fresh bundle from a real run is read by the tools a gate uses:
python-subunit's subunit-stats and junitparser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import junitparser

from tests.conftest import cli, need
from tests.integration.preview import workdir  # noqa: F401  (fixture)


def test_a_fresh_bundle_reads_in_subunit_stats_and_junitparser(workdir):  # noqa: F811
    need("redis-server")
    results = workdir / "results"
    done = cli("run", "redis", "--guest", "process", "--tier", "experimental",
               "--version", "7.0", env={"TROVE_VERIFY_WORKDIR": str(workdir / "w"),
                                        "TROVE_VERIFY_RESULTS": str(results)})
    assert done.returncode == 0, done.stdout + done.stderr
    (bundle,) = [p.parent for p in results.glob("*/run.json")]
    record = json.loads((bundle / "run.json").read_text())
    ran = [s for s in record["scenarios"] if s["test_id"]]
    assert ran, "the run ran no scenario"
    stats = subprocess.run([str(Path(sys.executable).with_name("subunit-stats"))],
                           stdin=open(bundle / "subunit.stream", "rb"), capture_output=True,
                           text=True, timeout=60)
    assert f"Total tests:       {len(ran)}" in stats.stdout, stats.stdout + stats.stderr
    xml = junitparser.JUnitXml.fromfile(str(bundle / "junit.xml"))
    suite = next(iter(xml)) if isinstance(xml, junitparser.JUnitXml) else xml
    assert suite.tests == len(record["scenarios"])
    assert suite.failures == sum(s["status"] == "fail" for s in record["scenarios"])
