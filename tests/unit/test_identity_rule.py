"""The engine identity rule: evidence counts for a datastore only when the
engine that answered is one the catalog accepts for it, and never from a
stand-in the harness knowingly launched."""

import shutil

import pytest

from tests.unit.evidence_factory import BOX, scenario, write_run
from tests.unit.history_factory import FIXTURE_TREE
from verify import catalog, inspect, policy
from verify.backends.local import LocalBackend
from verify.classify import classify
from verify.engines.mongodb import server as mongodb
from verify.engines.mysql import client as mysql_client
from verify.engines.mysql import server as mysql
from verify.evidence import scan
from verify.runner import RunOptions, _provenance
from verify.state import Ledger

IMAGE = {"name": "i", "sha256": "0" * 64}
STAND_IN = {"kind": "stand-in", "job": "secantusdb", "voting": False}


def _everything_passes(datastore: str, engine: str) -> list[dict]:
    ds = catalog.load().get(datastore)
    scen = [scenario("instance.create_delete", "instance", engine=engine)]
    scen += [scenario(f"{c}.x", c, engine=engine) for c in ds.capabilities if c != "instance"]
    scen += [scenario(f"{s.capability}.x", s.capability, strategy=s.name, engine=engine)
             for s in ds.strategies]
    return scen


def _verdict(results, subject: str):
    runs, _ = scan(results)
    static = inspect.inspect(FIXTURE_TREE, catalog.load())
    return {v.subject: v for v in classify(runs, catalog.load(), policy.load(),
                                           static)}[subject]


def test_a_stand_in_run_passing_everything_leaves_mongodb_unknown(tmp_path):
    # SecantusDB reports itself as MongoDB: the provenance alone must keep it out
    write_run(tmp_path, datastore="mongodb", engine="mongodb", provenance=STAND_IN,
              scenarios=_everything_passes("mongodb", "mongodb"), image=IMAGE)
    write_run(tmp_path, datastore="mongodb", engine="secantusdb", provenance=STAND_IN,
              scenarios=_everything_passes("mongodb", "secantusdb"), image=IMAGE)
    v = _verdict(tmp_path, "mongodb")
    assert v.tier == "unknown"
    assert v.runs_counted == 0 and v.runs_ignored == 2
    # kept and said, not silently dropped
    [note] = v.notes
    assert note.startswith("2 run(s) not counted (stand-in: ")
    assert "engines: mongodb, secantusdb" in note
    for strategy in catalog.load().get("mongodb").strategies:
        assert _verdict(tmp_path, f"mongodb/{strategy.name}").tier == "unknown"


def test_mariadb_answering_for_mysql_is_not_mysql(tmp_path):
    write_run(tmp_path, datastore="mysql", engine="mariadb", provenance=BOX,
              scenarios=_everything_passes("mysql", "mariadb"), image=IMAGE)
    v = _verdict(tmp_path, "mysql")
    assert v.tier == "unknown" and v.runs_counted == 0
    [note] = v.notes
    assert "stand-in: answered by mariadb, not an engine the catalog accepts as mysql" in note


def test_the_same_run_from_mysql_itself_counts(tmp_path):
    # the control: the rule, not the run's shape, kept the others out
    write_run(tmp_path, datastore="mysql", engine="mysql", provenance=BOX,
              scenarios=_everything_passes("mysql", "mysql"), image=IMAGE)
    v = _verdict(tmp_path, "mysql")
    assert v.runs_counted == 1 and v.tier == "experimental"
    assert (v.standing, v.eligible_tier) == ("eligible", "stable")


@pytest.mark.parametrize("version, comment, name", [
    ("9.7.4-2", "(Debian)", "mysql"),
    ("8.0.40", "MySQL Community Server - GPL", "mysql"),
    ("10.11.6-MariaDB-0+deb12u1", "Debian 12", "mariadb"),
    ("8.0.36-28", "Percona Server (GPL), Release 28", "percona-server"),
])
def test_mysql_identity_comes_from_what_the_server_says(version, comment, name):
    ident = mysql_client.identity_from(version, comment)
    assert ident.name == name
    assert ident.version == version.split("-")[0]


def test_the_backend_labels_the_mongodb_stand_in(monkeypatch, tmp_path):
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path))
    cat = catalog.load()
    backend = LocalBackend(cat, guest="process", ledger=Ledger("t-standin"))
    options = RunOptions(datastore="mongodb")
    monkeypatch.delenv(mongodb.ENV_STANDIN, raising=False)
    assert _provenance(options, backend, cat.get("mongodb"))["kind"] == "local"
    monkeypatch.setenv(mongodb.ENV_STANDIN, "secantusdb")
    assert _provenance(options, backend, cat.get("mongodb")) == STAND_IN
    assert _provenance(options, backend, cat.get("mariadb"))["kind"] == "local"


def test_no_mongod_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.delenv(mongodb.ENV_STANDIN, raising=False)
    monkeypatch.delenv(mongodb.ENV_MONGOD, raising=False)
    monkeypatch.setenv("TROVE_VERIFY_MONGODB_ROOT", str(tmp_path))
    line = mongodb.host_unavailable()
    assert "\n" not in line
    for needed in ("no mongod 6.0.5", str(tmp_path), "tools/setup.sh", "TROVE_VERIFY_MONGOD",
                   "--backend trove"):
        assert needed in line
    # one version present is enough for the datastore; the other says why not
    (tmp_path / "6.0.27" / "bin").mkdir(parents=True)
    (tmp_path / "6.0.27" / "bin" / "mongod").write_text("")
    (tmp_path / "6.0.27" / ".complete").touch()
    assert mongodb.host_unavailable() is None
    assert "no mongod 6.0.5" in mongodb.missing_here("6.0.5")
    assert mongodb.missing_here("6.0.27") is None


def test_mysqld_on_path_that_is_mariadb_is_refused(monkeypatch):
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if not shutil.which(mariadbd):
        pytest.skip("mariadbd not installed: run tools/setup.sh")
    monkeypatch.setenv(mysql.ENV_MYSQLD, mariadbd)
    reason = mysql.host_unavailable()
    assert "MariaDB's, not Oracle MySQL's" in reason and mysql.ENV_MYSQLD in reason
