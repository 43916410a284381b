"""bench/classify_10k.py runs end to end (small size here; budgets are its job)."""

import subprocess
import sys

from tests.conftest import REPO


def test_bench_runs_and_prints_figures_side_by_side(tmp_path):
    proc = subprocess.run([sys.executable, "bench/classify_10k.py", "--bundles", "240",
                           "--keep", str(tmp_path / "results")], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    out = proc.stdout
    from verify import catalog
    subjects = sum(1 + len(ds.strategies) for ds in catalog.load())
    assert "generated 240 bundles" in out and f"240 bundles, {subjects} verdicts" in out
    for step in ("cold index build", "classify (index + verdicts)",
                 "report (index + verdicts + HTML)"):
        assert step in out
    assert "wall s" in out and "CPU s" in out and "CPU/b" in out
