"""trove-verify report --html, checked in Debian's headless Chromium."""

import json
import struct

import pytest

from tests.browser import Browser, chromium
from tests.conftest import cli
from tests.unit.history_factory import CATALOG

PAGE_FACTS = """JSON.stringify({
  links: [...document.links].map(a => a.href),
  anchors: [...document.querySelectorAll('a[href^="#"]')]
      .map(a => [a.getAttribute('href'), !!document.getElementById(
          a.getAttribute('href').slice(1))]),
  width: document.documentElement.scrollWidth,
  matrix: document.getElementById('matrix').getBoundingClientRect().width,
  rows: document.querySelectorAll('#matrix tr').length,
  plots: [...document.querySelectorAll('svg')].map(s => [
      s.getBoundingClientRect().width, s.querySelectorAll('polyline').length]),
  flaky: [...document.querySelectorAll('tr.flaky')].map(r => [
      r.cells[0].textContent, getComputedStyle(r.cells[0]).backgroundColor]),
  resources: performance.getEntriesByType('resource').map(e => e.name),
})"""


def _report(history, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    page = site / "report.html"
    proc = cli("report", "--html", str(page), "--results", str(history[0]),
               "--catalog", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    return page


def test_report_content(history, tmp_path):
    text = _report(history, tmp_path).read_text()
    assert "demoted from stable" in text and 'class="badge">flaky' in text
    assert "eligible for" in text and "<script" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'href="../results/' in text, "links into bundles are relative"


def test_report_in_headless_chromium(history, tmp_path):
    if chromium() is None:
        pytest.skip("chromium not installed: run tools/setup.d/chromium.sh")
    page = _report(history, tmp_path)
    browser = Browser()
    try:
        assert browser.goto(page.as_uri()) is None
        facts = json.loads(browser.evaluate(PAGE_FACTS))
        shot = browser.screenshot()
        (tmp_path / "report.png").write_bytes(shot)
        broken = {}
        files = sorted({u.split("#")[0] for u in facts["links"] if u.startswith("file:")})
        for url in files:
            if url != page.as_uri():
                broken[url] = browser.goto(url)
        # the check can fail: a missing file is reported by the browser
        assert browser.goto(page.parent.joinpath("missing.json").as_uri())
    finally:
        browser.close()
    assert all(u.startswith("file:") for u in facts["links"]), "offline page links outside"
    assert {u: e for u, e in broken.items() if e} == {}
    assert len(files) >= 4 * 8 * 2, "last runs link to their run.json and junit.xml"
    assert facts["anchors"] and all(ok for _, ok in facts["anchors"]), facts["anchors"]
    assert all(r.startswith("file:") for r in facts["resources"]), facts["resources"]
    assert facts["width"] <= 1280 and facts["matrix"] > 600 and facts["rows"] == 5
    assert len(facts["plots"]) == 4 and all(w > 200 and n == 1 for w, n in facts["plots"])
    [(label, colour)] = facts["flaky"]
    assert "backup.restore" in label and "pg_basebackup" in label
    assert colour == "rgb(255, 248, 197)", "flaky rows stand out"
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", shot[16:24])
    assert width >= 1200 and height >= 1500 and len(shot) > 50_000
