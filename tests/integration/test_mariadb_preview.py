"""The MariaDB technical-preview suite for real: every claimed capability is
exercised on private MariaDB servers (Galera included) and nothing is left
running afterwards."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import cli, need
from tests.integration.preview import workdir  # noqa: F401  (fixture)
from verify import catalog


def _ours(root: Path) -> list[str]:
    """Processes (servers, SST rsync daemons) still using the work directory."""
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if str(root) in line and "ps -eo" not in line]


def _listening_pids() -> dict[int, str]:
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
    pids = {}
    for line in out.splitlines():
        for part in line.split("pid=")[1:]:
            pids[int(part.split(",")[0])] = line.split()[3]
    return pids


def test_mariadb_technical_preview_suite(results, workdir):  # noqa: F811
    for binary in ("mariadbd", "mariadb-backup", "rsync"):
        need(binary)
    if not Path("/usr/lib/galera/libgalera_smm.so").exists():
        pytest.skip("galera-4 not installed: run tools/setup.sh")
    work = workdir / "work"
    started = time.monotonic()
    proc = cli("run", "mariadb", "--tier", "technical-preview", "--backend", "local",
               env={"TROVE_VERIFY_WORKDIR": str(work)}, timeout=300)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr

    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass" and run["tier"] == "technical-preview"
    assert run["engine"]["name"] == "mariadb"
    scenarios = run["scenarios"]
    assert all(s["status"] in ("pass", "skipped") for s in scenarios), scenarios
    for s in scenarios:
        if s["status"] == "skipped":
            assert s["reason"], f"{s['id']} skipped without a reason"
        assert isinstance(s["duration_s"], float)

    ds = catalog.default().get("mariadb")
    by_capability: dict[str, set[str]] = {}
    for s in scenarios:
        by_capability.setdefault(s["capability"], set()).add(s["status"])
    for capability in ds.capabilities:
        assert capability in by_capability, f"claimed capability {capability} not in bundle"
        if capability != "upgrade":
            # a pass counts only with the engine's identity as the server reported it
            assert any(s["capability"] == capability and s["status"] == "pass"
                       and (s["engine"] or {}).get("name") == "mariadb"
                       for s in scenarios), f"{capability} has no counted pass"
    upgrade = {s["version"]: s for s in scenarios if s["capability"] == "upgrade"}
    if run["guest"] == "namespace":
        # 10.11 (bookworm image) -> 11.8 (trixie image); 11.8 has nothing newer
        assert upgrade["10.11"]["status"] == "pass", upgrade
        assert upgrade["11.8"]["status"] == "skipped" and upgrade["11.8"]["reason"]
    else:
        assert upgrade and all(s["status"] == "skipped" and s["reason"]
                               for s in upgrade.values())

    # every named strategy has its own passing evidence
    for strategy in ds.strategies:
        assert any(s["strategy"] == strategy.name and s["status"] == "pass"
                   for s in scenarios), f"strategy {strategy.name} has no passing scenario"
    # process guests have no volume: resize_volume is skipped, never passed;
    # namespace guests grow their real ext4 volume
    for volume in (s for s in scenarios if s["id"] == "instance.resize_volume"):
        if run["guest"] == "namespace":
            assert volume["status"] == "pass", volume
        else:
            assert volume["status"] == "skipped" and "volume" in volume["reason"]
    # published guest logs are in the bundle
    for logs in (s for s in scenarios if s["id"] == "guest_logs.publish"):
        assert logs["logs"] and all((bundle / p).is_file() for p in logs["logs"])

    # nothing left running or listening, no instance or backup left on disk
    assert _ours(work) == []
    for pid in _listening_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        assert str(work) not in cmdline, f"pid {pid} still listens: {cmdline}"
    for sub in ("instances", "backups"):
        assert not list((work / sub).iterdir()) if (work / sub).exists() else True, sub
    assert not list((work / "state").glob("*.json"))
    assert elapsed < 180, f"the suite took {elapsed:.0f}s (CI budget 180s)"
