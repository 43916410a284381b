"""Evidence that cannot be forged without the producer's key.

The attacks of issue 18: a bundle with its failures flipped to pass and the
digest recomputed; a run.json symlinked to a bundle outside results/; a
read-only verb pointed at a system directory. And the other side: a bundle
signed by the producer's key counts, `import` says who signed, an unsigned
bundle (like the committed results/sample/) is shown and never counts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, cli
from tests.unit.evidence_factory import scenario, write_run
from verify import catalog, policy
from verify.classify import classify
from verify.evidence.bundle import digest
from verify.evidence.index import load_history


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_CACHE", str(tmp_path / "cache"))


def _verdict(results: Path, subject: str = "mariadb"):
    runs, rejected = load_history(results)
    verdicts = classify(runs, catalog.default(), policy.default(), {}, {})
    return next(v for v in verdicts if v.subject == subject), runs, rejected


def _failing_run(results: Path) -> Path:
    bundle = write_run(results, scenarios=[
        scenario("instance.create_delete", "instance"),
        scenario("backup.full_restore", "backup", status="fail", strategy="mariabackup"),
        scenario("replication.promote", "replication", status="fail", strategy="binlog")])
    return bundle.root


def _forge(run_json: Path) -> None:
    """Flip every failure to pass and recompute the (unkeyed) digest."""
    record = json.loads(run_json.read_text())
    for s in record["scenarios"]:
        if s["status"] == "fail":
            s["status"], s["reason"] = "pass", None
    record["status"] = "pass"
    record["digest"] = digest(record)
    run_json.write_text(json.dumps(record, indent=2, sort_keys=True))


def test_a_forged_bundle_with_a_recomputed_digest_never_counts(tmp_path):
    results = tmp_path / "results"
    root = _failing_run(results)
    honest, _, _ = _verdict(results)
    assert honest.runs_counted == 1, "a run signed by this machine's key counts"
    _forge(root / "run.json")
    forged, runs, rejected = _verdict(results)
    shown = [r["run_id"] for r in runs] + [str(r.path) for r in rejected]
    print(f"\nunmet requirements: honest {len(honest.unmet)}, forged {len(forged.unmet)}; "
          f"forged run counted: {forged.runs_counted}")
    assert any(root.name in s for s in shown), "the forged bundle is still shown"
    assert forged.runs_counted == 0
    assert len(forged.unmet) >= len(honest.unmet)


def test_a_bundle_signed_by_an_unknown_key_never_counts(tmp_path, monkeypatch):
    results = tmp_path / "results"
    monkeypatch.setenv("TROVE_VERIFY_SIGNING_KEY", str(tmp_path / "someone-else.pem"))
    root = _failing_run(results)          # signed, but by a key nobody trusts here
    monkeypatch.delenv("TROVE_VERIFY_SIGNING_KEY")
    _forge(root / "run.json")
    record = json.loads((root / "run.json").read_text())
    forged, runs, _ = _verdict(results)
    assert forged.runs_counted == 0, record.get("signature")


def test_a_run_json_symlinked_out_of_results_is_refused(tmp_path):
    outside = tmp_path / "outside"
    src = _failing_run(outside)
    results = tmp_path / "results"
    (results / "linked").mkdir(parents=True)
    os.symlink(src / "run.json", results / "linked" / "run.json")
    v, runs, rejected = _verdict(results)
    assert v.runs_counted == 0 and runs == []
    assert any("symlink" in r.reason for r in rejected), [r.reason for r in rejected]


def test_read_only_verbs_write_nothing_in_the_directory_they_read(tmp_path):
    etc = tmp_path / "etc"            # stands for /etc: a directory that is no results/
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    before = sorted(p.name for p in etc.iterdir())
    env = {"TROVE_VERIFY_CACHE": str(tmp_path / "cache")}
    for verb in (["classify"], ["classify", "--json"], ["report", "--html",
                                                        str(tmp_path / "r.html")]):
        cli(*verb, "--results", str(etc), env=env)
    after = sorted(p.name for p in etc.iterdir())
    assert after == before, f"a read-only verb wrote {set(after) - set(before)} in {etc}"


def test_import_names_the_signer_and_an_unsigned_bundle_is_shown_not_counted(tmp_path):
    results = tmp_path / "results"
    gate = tmp_path / "gate-logs"
    signed = write_run(gate).root
    unsigned = gate / "sample"
    shutil.copytree(REPO / "results" / "sample", unsigned)
    out = cli("import", str(signed), str(unsigned), "--results", str(results),
              env={"TROVE_VERIFY_CACHE": str(tmp_path / "cache")})
    print("\n" + out.stdout)
    lines = out.stdout.splitlines()
    assert any(signed.name in ln and "signed by SHA256:" in ln for ln in lines), out.stdout
    assert any("unsigned" in ln for ln in lines), out.stdout
    v, runs, rejected = _verdict(results)
    sample = [r for r in runs if r["run_id"] == json.loads(
        (unsigned / "run.json").read_text())["run_id"]]
    assert sample and sample[0].get("_uncounted"), "the unsigned bundle is shown, flagged"
    assert v.runs_counted == 1, "only the signed bundle counts"
    assert any("not counted" in n and "unsigned" in n for n in v.notes), v.notes
    page = tmp_path / "report.html"
    cli("report", "--html", str(page), "--results", str(results),
        env={"TROVE_VERIFY_CACHE": str(tmp_path / "cache")})
    assert "not counted" in page.read_text(), "the report shows the bundle as not counted"


def test_a_gate_key_listed_in_the_trusted_keys_counts(tmp_path, monkeypatch):
    results = tmp_path / "results"
    gate_key = tmp_path / "gate.pem"
    monkeypatch.setenv("TROVE_VERIFY_SIGNING_KEY", str(gate_key))
    write_run(results)                               # the gate job's bundle
    line = cli("import", "--public-key", env={"TROVE_VERIFY_SIGNING_KEY": str(gate_key)})
    assert line.returncode == 0 and line.stdout.startswith("ed25519 "), line.stderr
    monkeypatch.delenv("TROVE_VERIFY_SIGNING_KEY")   # now a reader with its own key
    assert _verdict(results)[0].runs_counted == 0, "not trusted yet"
    trust = tmp_path / "trusted-keys"
    trust.write_text(line.stdout)
    monkeypatch.setenv("TROVE_VERIFY_TRUSTED_KEYS", str(trust))
    assert _verdict(results)[0].runs_counted == 1, "trusted once its key is listed"
