"""What a person reads: an 80-column table with whole names, every unmet
requirement's sentence and reason, the same notes in every format."""

import json

from rich.console import Console

from tests.unit.evidence_factory import BOX, ENGINE, IMAGE, preview_scenarios, write_run
from tests.unit.history_factory import FIXTURE_TREE
from verify import catalog, inspect, policy, report
from verify.classify import classify
from verify.evidence.index import load_history


def _verdicts(results):
    runs, _ = load_history(results)
    static = inspect.inspect(FIXTURE_TREE, catalog.load())
    return classify(runs, catalog.load(), policy.load(), static)


def _table(verdicts, width=80) -> str:
    console = Console(width=width, record=True, color_system=None)
    report.print_table(verdicts, console=console)
    return console.export_text()


def test_table_keeps_names_whole_at_80_columns(tmp_path):
    write_run(tmp_path, scenarios=preview_scenarios("postgresql", engine="postgresql"),
              datastore="postgresql", engine="postgresql", provenance=BOX, image=IMAGE)
    verdicts = _verdicts(tmp_path)
    text = _table(verdicts)
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = [line.split() for line in lines]
    for v in verdicts:
        assert any(row[:1] == [v.subject] for row in rows), v.subject
    # the longest subject keeps its whole name on one row
    assert any("postgresql/pg_basebackup_incremental" in line for line in lines)


def test_unknown_never_reads_classified(tmp_path):
    for v in _verdicts(tmp_path):
        assert v.tier == "unknown" and report.standing(v) == "no counted evidence"
    assert "classified" not in _table(_verdicts(tmp_path), width=120)


def test_a_newcomers_local_run_says_what_it_proved_and_what_is_next(tmp_path):
    # what `tox -e verify-mariadb` leaves: one engine run
    write_run(tmp_path, scenarios=preview_scenarios(), provenance=ENGINE)
    verdicts = [v for v in _verdicts(tmp_path) if v.subject.split("/")[0] == "mariadb"]
    text = _table(verdicts)
    assert "engine evidence" in text and "scenarios passed on mariadb" in text
    flat = " ".join(text.split())
    assert ("needs ds-exp-create-delete (experimental): Creating and deleting an "
            "instance through Trove's API works") in flat
    assert "Unmet: no trove or gate run of instance.create_delete" in flat
    assert "static requirements read from: Trove 4.0.0" in flat
    assert len(text.splitlines()) <= 60, "one screen"


def test_every_format_carries_the_notes_and_the_reasons(tmp_path):
    write_run(tmp_path, scenarios=preview_scenarios(), provenance=BOX, image=IMAGE)
    write_run(tmp_path, provenance={"kind": "stand-in", "job": "x", "voting": False})
    verdicts = _verdicts(tmp_path)
    md = report.as_markdown(verdicts)
    data = json.loads(report.as_json(verdicts))
    table = " ".join(_table(verdicts, width=200).split())
    from verify.report import html
    page = html._matrix(verdicts, set())
    v = next(v for v in verdicts if v.subject == "mariadb")
    assert v.notes and v.unmet
    for note in v.notes:
        assert note in md and note in table, note
        assert html._e(note) in page, note
    entry = next(e for e in data["verdicts"] if e["subject"] == "mariadb")
    assert entry["notes"] == v.notes and entry["trove_tree"] == "Trove 4.0.0"
    assert entry["next_tier_needs"][0]["text"] == v.unmet[0].text
    for u in report.next_unmet(v):
        assert u.text in md and u.why in md and u.text in table


def test_run_ends_with_the_datastores_verdict(tmp_path, monkeypatch, capsys):
    # what `tox -e verify-mariadb` prints last: this run's verdict, one datastore
    from verify.cli.classify import after_run

    results = tmp_path / "results"
    write_run(results, scenarios=preview_scenarios(), provenance=ENGINE)
    inspect.write(results, inspect.inspect(FIXTURE_TREE, catalog.load()))
    monkeypatch.setenv("TROVE_VERIFY_RESULTS", str(results))
    monkeypatch.setenv("COLUMNS", "80")
    after_run("mariadb")
    out = capsys.readouterr().out
    assert "mariadb/galera" in out and "postgresql" not in out
    assert "engine evidence" in out and "needs ds-exp-create-delete" in out
