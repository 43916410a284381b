"""inspect + classify against real Trove sdists from PyPI.

tools/setup.d/trove-src.sh unpacks trove 26.0.0 and 13.0.1 (Ussuri, the
last release before containerization) into the cache dir. The expected
values below were read from those trees by hand (ls, grep), not taken
from the tool's output:

26.0.0
- trove/common/constants.py REGISTRY_EXT_DEFAULTS: mysql, mariadb and
  postgresql (PostgresManager); all under guestagent/datastore/<ds>/.
- trove/guestagent/utils/docker.py exists (containerized agent);
  integration/scripts/files/elements holds ubuntu-guest and
  ubuntu-xenial-guest and no per-datastore element for mariadb.
- trove/tests/unittests/guestagent/datastore/test_service.py imports
  trove.guestagent.datastore.mariadb.service: mariadb's only unit test module.
- backup/drivers/postgres.py defines PgBasebackup (the catalog spells it
  PgBaseBackup); backup/tests/unittests/drivers/test_postgres.py loads it
  through driver_mapping['pg_basebackup']; every driver test module lists
  all drivers in that map, which is no test of them.
- no class MySQLDump anywhere; trove/common/strategies/cluster/experimental/
  still holds redis, cassandra and mongodb cluster packages (API side) and
  trove/tests/unittests/cluster/test_redis_cluster.py imports the redis one.
13.0.1
- trove/guestagent/dbaas.py ``defaults``: 12 datastores; mysql under
  datastore/mysql/, the others (mariadb, postgresql, redis, ...) under
  datastore/experimental/.
- elements: ubuntu-mariadb, ubuntu-xenial-mariadb (and mysql, postgresql);
  none for redis, cassandra or mongodb.
- trove/tests/unittests/guestagent/test_dbaas.py imports the experimental
  mariadb, postgresql and mongodb packages; test_mariadb_manager.py imports
  mariadb's; there is no test_postgresql_manager.py.
- strategies/backup/experimental/postgresql_impl.py defines PgBaseBackup,
  imported by trove/tests/unittests/guestagent/test_backups.py;
  mariadb_impl.py defines MariaBackup and no test module imports it.
"""

from __future__ import annotations

import pytest

from tests.unit.evidence_factory import BOX, IMAGE, preview_scenarios, write_run
from tests.unit.test_inspect import trove_sdist
from verify import catalog, inspect, policy
from verify.classify import classify
from verify.evidence.index import load_history


@pytest.fixture(scope="module")
def trove26():
    return inspect.inspect(trove_sdist("26.0.0"), catalog.default())


@pytest.fixture(scope="module")
def trove13():
    return inspect.inspect(trove_sdist("13.0.1"), catalog.default())


def test_trove26_managers_tests_and_strategies(trove26):
    assert set(trove26["managers"]) == {"mysql", "mariadb", "postgresql"}
    assert {m["placement"] for m in trove26["managers"].values()} == {"top-level"}
    assert trove26["managers"]["postgresql"]["class"] == \
        "trove.guestagent.datastore.postgres.manager.PostgresManager"
    assert trove26["image_mechanism"] == "container"
    assert trove26["guest_images"]["mariadb"]["elements"] == [
        "ubuntu-guest", "ubuntu-xenial-guest"]
    assert trove26["unit_tests"]["mariadb"] == [
        "trove/tests/unittests/guestagent/datastore/test_service.py"]
    for ds in ("redis", "cassandra", "mongodb"):
        assert trove26["unit_tests"][ds] == [], ds
    pg = trove26["strategies"]["postgresql/pg_basebackup"]
    assert (pg["defined_as"], pg["file"]) == ("PgBasebackup", "backup/drivers/postgres.py")
    assert trove26["strategy_unit_tests"]["postgresql/pg_basebackup"] == [
        "backup/tests/unittests/drivers/test_postgres.py"]
    assert trove26["strategy_unit_tests"]["mariadb/mariabackup"] == [
        "backup/tests/unittests/drivers/test_mariadb.py"]
    assert "mariadb/mariadb_dump" not in trove26["strategies"]
    assert trove26["strategy_unit_tests"]["mariadb/mariadb_gtid"] == []
    assert trove26["strategy_unit_tests"]["redis/redis_cluster"] == [
        "trove/tests/unittests/cluster/test_redis_cluster.py"]


def test_trove13_managers_tests_and_strategies(trove13):
    assert len(trove13["registry"]) == 12
    assert trove13["managers"]["mysql"]["placement"] == "top-level"
    for ds in ("mariadb", "postgresql", "redis", "cassandra", "mongodb"):
        assert trove13["managers"][ds]["placement"] == "experimental", ds
    assert trove13["image_mechanism"] == "elements"
    assert trove13["guest_images"]["mariadb"]["elements"] == [
        "ubuntu-mariadb", "ubuntu-xenial-mariadb"]
    assert trove13["guest_images"]["redis"]["elements"] == []
    assert trove13["unit_tests"]["mariadb"] == [
        "trove/tests/unittests/guestagent/test_dbaas.py",
        "trove/tests/unittests/guestagent/test_mariadb_manager.py"]
    assert trove13["unit_tests"]["postgresql"] == [
        "trove/tests/unittests/guestagent/test_dbaas.py"]
    pg = trove13["strategies"]["postgresql/pg_basebackup"]
    assert pg["defined_as"] == "PgBaseBackup"
    assert pg["file"] == "trove/guestagent/strategies/backup/experimental/postgresql_impl.py"
    assert trove13["strategy_unit_tests"]["postgresql/pg_basebackup"] == [
        "trove/tests/unittests/guestagent/test_backups.py"]
    assert trove13["strategies"]["mariadb/mariabackup"]["defined_as"] == "MariaBackup"
    assert trove13["strategy_unit_tests"]["mariadb/mariabackup"] == []


def _box_runs(results, datastores):
    for ds in datastores:
        write_run(results, datastore=ds, engine=ds, provenance=BOX, image=IMAGE,
                  scenarios=preview_scenarios(ds))
    runs, _ = load_history(results)
    return runs


def test_trove26_has_no_agent_for_redis_cassandra_mongodb(tmp_path, trove26):
    runs = _box_runs(tmp_path, ["mariadb", "redis", "cassandra", "mongodb"])
    v = {v.subject: v for v in classify(runs, catalog.default(), policy.load(), trove26)}
    for ds in ("redis", "cassandra", "mongodb"):
        assert v[ds].tier == "none", ds
        assert v[ds].unmet[0].why == f"Trove 26.0.0 has no guest agent for {ds}"
        assert v[ds].trove_tree == "Trove 26.0.0"
    assert v["redis/redis_cluster"].unmet[0].why == "Trove 26.0.0 has no guest agent for redis"
    assert v["mariadb"].tier == "experimental"
    assert (v["mariadb"].standing, v["mariadb"].eligible_tier) == ("eligible", "stable")
    assert v["mariadb/mariadb_dump"].unmet[0].why == \
        "Trove 26.0.0 defines no MySQLDump (class or cluster package)"


def test_trove13_redis_has_an_agent_but_no_elements(tmp_path, trove13):
    runs = _box_runs(tmp_path, ["mariadb", "redis"])
    v = {v.subject: v for v in classify(runs, catalog.default(), policy.load(), trove13)}
    assert v["mariadb"].tier == "experimental"
    assert any("keeps the mariadb guest agent under guestagent/datastore/experimental/"
               in n for n in v["mariadb"].notes)
    redis = {u.id: u.why for u in v["redis"].unmet if u.tier == "experimental"}
    assert redis["ds-exp-elements"] == "Trove 13.0.1 has no elements to build a redis guest"
    assert "ds-exp-guest-agent" not in redis and "ds-exp-unit-tests" not in redis
