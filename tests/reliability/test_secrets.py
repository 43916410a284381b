"""Property 3, no secrets out: every file a run writes and everything it
prints is scanned for every secret the run generated (verify.redact.known())
plus canaries injected through the environment: zero hits.

A probe scenario deliberately pushes secrets into every evidence path (its
failure message, a log file, a connection string with a password), so the
scan proves redaction works, not merely that nothing tried to leak.
"""

from __future__ import annotations

import secrets
import signal
from pathlib import Path

import pytest

from tests.conftest import need
from verify import redact
from verify.scenarios import planner
from verify.scenarios.base import ScenarioTest, scenario

CANARY = f"canary-{secrets.token_hex(12)}"
TOKEN_CANARY = f"tok-{secrets.token_hex(12)}"
UNREGISTERED = f"unregistered-{secrets.token_hex(6)}"


class LeakProbe(ScenarioTest):
    __test__ = False  # run by trove-verify inside the test below, not by pytest

    @scenario(id="reliability.leak_probe", capability="instance")
    def test_leak_probe(self):
        inst = self.create_instance()
        self.record_identity(self.backend.identity(inst))
        admin = self.backend.service_credentials(inst)
        url = f"mysql://{admin.user}:{admin.password}@{inst.address}:{inst.port}/"
        leak = (f"password={admin.password} canary={CANARY} token={TOKEN_CANARY} "
                f"url={url} other=postgresql://bob:{UNREGISTERED}@db.example/x")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "probe.log").write_text(leak + "\n")
        print(leak)  # captured stdout becomes a test detail
        self.fail(leak)


def _scan(paths: list[Path], text_outputs: list[str], needles: set[str]):
    hits, files = [], 0
    for root in paths:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if not path.is_file():
                continue
            files += 1
            data = path.read_bytes()
            hits += [f"{path}: {n[:10]}…" for n in needles if n.encode() in data]
    for i, text in enumerate(text_outputs):
        hits += [f"output {i}: {n[:10]}…" for n in needles if n in text]
    return hits, files


@pytest.fixture
def restore_signals():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_no_secret_in_anything_a_run_writes(workdir, tmp_path, monkeypatch, capsys,
                                           restore_signals):
    need("mariadbd")
    from verify.cli import main

    results = tmp_path / "results"
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir))
    monkeypatch.setenv("TROVE_VERIFY_RESULTS", str(results))
    monkeypatch.setenv("OS_PASSWORD", CANARY)
    monkeypatch.setenv("OS_AUTH_TOKEN", TOKEN_CANARY)
    original = planner.scenario_methods
    monkeypatch.setattr(planner, "scenario_methods", lambda: original() + [
        (LeakProbe, "test_leak_probe", LeakProbe.test_leak_probe.scenario_info)])

    code = main(["run", "mariadb", "--backend", "local", "--tier", "experimental"])
    out = capsys.readouterr()
    assert code == 1, out.out + out.err  # the probe fails on purpose
    assert "reliability.leak_probe" in out.out, out.out
    assert redact.MASK in out.out, out.out

    generated = redact.known()
    needles = set(generated) | {CANARY, TOKEN_CANARY, UNREGISTERED}
    assert len(generated) >= 4, "the run generated passwords; they must be registered"
    # the run's bundle; .index.sqlite is the evidence index the closing classify made
    (bundle,) = [p for p in results.iterdir() if not p.name.startswith(".")]
    probe_logs = list(bundle.rglob("probe.log"))
    assert probe_logs and redact.MASK in probe_logs[0].read_text()
    hits, files = _scan([results, workdir], [out.out, out.err], needles)
    print(f"\nscanned {files} files + terminal output for {len(needles)} secrets: "
          f"{len(hits)} hits")
    assert hits == []


def test_secret_looking_environment_is_registered():
    redact.register_environment({"OS_PASSWORD": "pw-abcdef-1", "HOME": "/root-home-x",
                                 "MY_API_KEY": "key-abcdef-2", "TOKEN": "t1"})
    assert {"pw-abcdef-1", "key-abcdef-2"} <= redact.known()
    assert "/root-home-x" not in redact.known()
    assert redact.redact("x pw-abcdef-1 y") == f"x {redact.MASK} y"
    # connection strings: with a user, and redis-style with an empty user
    assert redact.redact("mysql://u:s3cr3t@h:1/db") == f"mysql://u:{redact.MASK}@h:1/db"
    assert redact.redact("redis://:s3cr3t@h:1") == f"redis://:{redact.MASK}@h:1"


def test_redaction_stays_linear_on_big_logs():
    """A multi-megabyte engine log once took minutes (a backtracking URL regex)."""
    import time

    for text in ("A" * (3 << 20), "x://" * (1 << 20), ("mysql://u:" + "p" * 600 + "\n") * 5000):
        t0 = time.monotonic()
        redact.redact(text)
        assert time.monotonic() - t0 < 2.0, text[:20]
