"""trove-verify inspect on the 2015-shaped fixture tree and on Trove from PyPI."""

import json
import os
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.unit.history_factory import CATALOG, FIXTURE_TREE
from verify import catalog, inspect


def trove_sdist(version: str = "26.0.0") -> Path:
    """The tree tools/setup.d/trove-src.sh unpacked, or a skip saying so."""
    cache = Path(os.environ.get("TROVE_VERIFY_CACHE", Path(os.environ.get(
        "XDG_CACHE_HOME", Path.home() / ".cache")) / "trove-verify"))
    tree = cache / "trove-src" / f"trove-{version}"
    if not (tree / "trove").is_dir():
        pytest.skip(f"no trove-{version} sdist under {cache}/trove-src: "
                    "run tools/setup.d/trove-src.sh")
    return tree


def test_fixture_tree_2015_layout():
    static = inspect.inspect(FIXTURE_TREE, catalog.load(CATALOG))
    assert static["trove_version"] == "4.0.0"
    assert static["managers"]["cassandra"]["file"] == \
        "trove/guestagent/datastore/experimental/cassandra/manager.py"
    assert static["managers"]["cassandra"]["placement"] == "experimental"
    assert static["managers"]["mariadb"]["placement"] == "experimental"
    assert static["registry"]["redis"].startswith(
        "trove.guestagent.datastore.experimental.redis")
    # an API-side cluster test names redis's cluster code, not its manager
    assert static["unit_tests"]["redis"] == []
    assert static["unit_tests"]["mariadb"] == [
        "trove/tests/unittests/guestagent/test_mariadb_manager.py"]
    # a patch target counts; a shared file counts; a file name alone does not
    assert static["unit_tests"]["cassandra"] == [
        "trove/tests/unittests/guestagent/test_cassandra_manager.py"]
    assert static["unit_tests"]["postgresql"] == [
        "trove/tests/unittests/guestagent/test_dbaas.py"]
    assert static["strategy_unit_tests"]["redis/redis_rdb"] == [
        "trove/tests/unittests/backup/test_backups.py"]
    # Trove spells it PgBasebackup; the catalog PgBaseBackup
    assert static["strategies"]["postgresql/pg_basebackup"]["defined_as"] == "PgBasebackup"
    assert static["strategy_unit_tests"]["postgresql/pg_basebackup"] == [
        "trove/tests/unittests/backup/test_backups.py"]
    # MariaBackup is not defined in this tree: no class, no tests credited
    assert "mariadb/mariabackup" not in static["strategies"]
    assert static["strategy_unit_tests"]["mariadb/mariabackup"] == []
    assert static["image_mechanism"] == "elements"
    assert static["trove_elements"]["mariadb"] == {"ubuntu-trusty": ["ubuntu-trusty-mariadb"]}
    assert static["guest_images"]["mariadb"]["os"] == ["ubuntu-trusty"]
    assert static["trove_elements"]["guest"] == {"ubuntu": ["ubuntu-guest"]}
    jobs = {j["name"]: j for j in static["gate_jobs"]}
    assert jobs["gate-trove-functional-dsvm-cassandra"]["voting"] is True
    assert jobs["gate-trove-functional-dsvm-redis"]["voting"] is False
    assert jobs["gate-trove-functional-dsvm-couchbase"]["pipelines"] == ["experimental"]
    assert {j["layout"] for j in jobs.values()} == {"project-config"}
    assert static["problems"] == []


def test_trove_from_pypi():
    root = trove_sdist()
    static = inspect.inspect(root, catalog.default())
    # what Trove ships today: three guest-agent datastores, registered and tested
    assert {"mysql", "mariadb", "postgresql"} <= set(static["managers"])
    assert static["registry"]["postgresql"].endswith("PostgresManager")
    for ds in ("mysql", "postgresql"):
        assert any("guestagent" in f for f in static["unit_tests"][ds]), ds
    assert static["unit_tests"]["couchdb"] == []
    assert static["strategy_unit_tests"]["mysql/innobackupex"] == [
        "backup/tests/unittests/drivers/test_innobackupex.py"]
    assert "PostgresManager" in static["managers"]["postgresql"]["class"]
    jobs = [j for j in static["gate_jobs"] if j["layout"] == "zuul-v3"]
    assert jobs and static["problems"] == [], static["problems"]
    voting = {j["datastore"] for j in jobs if j["voting"] and "gate" in j["pipelines"]}
    assert {"mysql", "mariadb", "postgresql"} <= voting
    backup = [j for j in jobs if j["name"].startswith("trove-tempest-ubuntu-backup-")]
    assert backup and not any(j["voting"] for j in backup)
    assert "ubuntu" in static["trove_elements"]["guest"]


def test_inspect_cli_writes_what_classify_reads(tmp_path):
    results = tmp_path / "results"
    proc = cli("inspect", str(FIXTURE_TREE), "--results", str(results),
               "--catalog", str(CATALOG))
    assert proc.returncode == 0, proc.stderr
    assert "none for: redis" in proc.stdout and "trove/tests" not in proc.stdout
    static, path = inspect.latest(results)
    assert path and json.loads(path.read_text())["unit_tests"]["redis"] == []
    bad = cli("inspect", str(tmp_path), "--results", str(results))
    assert bad.returncode == 65 and "not a Trove source tree" in bad.stderr


def test_zuul_v3_voting_inheritance_and_overrides():
    static = inspect.inspect(FIXTURE_TREE.parent / "trove-zuul-v3", catalog.default())
    jobs = {j["name"]: j for j in static["gate_jobs"]}
    assert static["problems"] == []
    assert (jobs["trove-tempest-redis"]["voting"], jobs["trove-tempest-redis"]["datastore"],
            jobs["trove-tempest-redis"]["source"]) == (False, "redis", "zuul.d/jobs.yaml")
    assert jobs["trove-tempest-mariadb"]["voting"] is False, "the project overrides the job"
    assert jobs["trove-functional-mysql"]["voting"] is True
    assert jobs["trove-functional-mysql"]["pipelines"] == ["check", "gate"]


def test_inspect_a_pypi_version_from_the_cache(tmp_path):
    tree = trove_sdist("13.0.1")          # present: no download happens
    results = tmp_path / "results"
    env = {"TROVE_VERIFY_CACHE": str(tree.parent.parent)}
    proc = cli("inspect", "trove==13.0.1", "--results", str(results), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"inspected Trove 13.0.1 at {tree} (trove==13.0.1 sdist)")
    assert "mariadb (experimental/)" in proc.stdout
    static, _ = inspect.latest(results)
    assert static["origin"] == "trove==13.0.1 sdist"
    assert inspect.tree_name(static) == "Trove 13.0.1"


def test_a_version_range_is_one_clear_line(tmp_path):
    proc = cli("inspect", "trove>=13", "--results", str(tmp_path))
    assert proc.returncode != 0
    assert proc.stderr.count("\n") <= 2 and "trove==13.0.1" in proc.stderr
    assert "Traceback" not in proc.stderr
