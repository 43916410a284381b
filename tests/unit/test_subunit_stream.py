"""The bundle's subunit stream and JUnit are read by the tools CI uses
(python-subunit's subunit-stats, junitparser), with secrets masked."""

from __future__ import annotations

import subprocess
import sys
import unittest
from pathlib import Path

import junitparser
import testtools
from testtools.content import text_content

from tests.unit.evidence_factory import write_run
from verify.evidence.junit import junit_xml
from verify.evidence.stream import RedactingStreamResult
from verify.redact import register

SUBUNIT_STATS = Path(sys.executable).with_name("subunit-stats")
SECRET = register("s3cret-" + "9f2c41d7e0")


class _Cases(testtools.TestCase):
    __test__ = False    # run through the stream below, not by pytest

    def test_passes(self):
        pass

    def test_fails_with_a_secret(self):
        # a long attachment: testtools sends it in chunks, the secret straddles one
        self.addDetail("log", text_content("x" * 65530 + SECRET + "\n" * 10))
        self.fail(f"login refused for password {SECRET}")

    def test_skips(self):
        self.skipTest("not claimed")


def _encode(tmp_path: Path) -> bytes:
    out = tmp_path / "raw.stream"
    with open(out, "wb") as fh:
        result = testtools.CopyStreamResult([RedactingStreamResult(fh)])
        result = testtools.ExtendedToStreamDecorator(result)
        result.startTestRun()
        unittest.TestSuite([_Cases("test_passes"), _Cases("test_fails_with_a_secret"),
                             _Cases("test_skips")]).run(result)
        result.stopTestRun()
    return out.read_bytes()


def test_subunit_stats_counts_a_bundles_tests_and_no_secret_is_in_it(tmp_path):
    bundle = write_run(tmp_path / "results")
    bundle.write_subunit(_encode(tmp_path))
    data = (bundle.root / "subunit.stream").read_bytes()
    assert data[0] == 0xB3      # a v2 packet, not text
    assert SECRET.encode() not in data
    done = subprocess.run([str(SUBUNIT_STATS)], input=data, capture_output=True, timeout=60)
    assert done.returncode == 1, done.stderr     # 1: the stream holds a failure
    stats = done.stdout.decode()
    counts = dict(line.split(":", 1) for line in stats.splitlines() if ":" in line)
    assert {k: counts[k].strip() for k in ("Total tests", "Passed tests", "Failed tests",
                                           "Skipped tests")} == {
        "Total tests": "3", "Passed tests": "1", "Failed tests": "1", "Skipped tests": "1"}


def test_an_attachment_cut_short_is_still_written_redacted(tmp_path):
    out = tmp_path / "s"
    with open(out, "wb") as fh:
        result = RedactingStreamResult(fh)
        result.startTestRun()
        result.status(test_id="t", test_status="inprogress")
        result.status(test_id="t", file_name="log", file_bytes=SECRET[:5].encode())
        result.status(test_id="t", file_name="log", file_bytes=SECRET[5:].encode())
        result.stopTestRun()
    data = out.read_bytes()
    assert SECRET.encode() not in data and b"***" in data
    assert subprocess.run([str(SUBUNIT_STATS)], input=data, capture_output=True,
                          timeout=60).returncode in (0, 1)    # parses (1: a test not passed)


def test_junitparser_reads_the_junit_with_the_right_counts(tmp_path):
    recs = [{"id": "a", "capability": "x", "status": "pass", "duration_s": 1, "reason": None},
            {"id": "b", "capability": "x", "status": "fail", "duration_s": 1,
             "reason": f"refused <{SECRET}> & more"},
            {"id": "c", "capability": "y", "status": "skipped", "duration_s": 0,
             "reason": "why"}]
    bundle = write_run(tmp_path / "results")
    bundle.write_file("junit.xml", junit_xml("trove-verify.mariadb", recs))
    data = (bundle.root / "junit.xml").read_bytes()
    assert SECRET.encode() not in data
    suite = junitparser.JUnitXml.fromfile(str(bundle.root / "junit.xml"))
    if isinstance(suite, junitparser.JUnitXml):     # a lone <testsuite> root is the suite
        suite = next(iter(suite))
    assert (suite.name, suite.tests, suite.failures, suite.skipped, suite.errors) == (
        "trove-verify.mariadb", 3, 1, 1, 0)
    results = {case.name: [type(r).__name__ for r in case.result] for case in suite}
    assert results == {"a": [], "b": ["Failure"], "c": ["Skipped"]}


def test_the_committed_sample_stream_counts_its_scenarios():
    from tests.conftest import REPO
    from verify.evidence import load_bundle

    sample = REPO / "results" / "sample"
    record = load_bundle(sample)
    ran = sum(1 for s in record["scenarios"] if s["test_id"])
    stats = subprocess.run([str(SUBUNIT_STATS)], input=(sample / "subunit.stream").read_bytes(),
                           capture_output=True, timeout=60).stdout.decode()
    assert f"Total tests:       {ran}" in stats and ran > 0
