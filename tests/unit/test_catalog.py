import textwrap

import pytest
import yaml

from tests.conftest import REPO, cli
from verify import catalog
from verify.errors import EXIT_CONFIG, ConfigError

TWELVE = {"mysql", "mariadb", "percona", "pxc", "postgresql", "redis", "cassandra",
          "mongodb", "couchdb", "couchbase", "vertica", "db2"}


def _write(tmp_path, data):
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return path


def _good():
    return yaml.safe_load(catalog.CATALOG_FILE.read_text())


def test_catalog_has_every_datastore_trove_shipped():
    cat = catalog.load()
    assert set(cat.datastores) == TWELVE
    for ds in cat:
        assert ds.manager.startswith("trove.guestagent.datastore.")
        assert ds.versions and ds.capabilities and ds.engines


def test_strategies_belong_to_claimed_capabilities():
    for ds in catalog.load():
        for s in ds.strategies:
            assert ds.claims(s.capability), (ds.name, s.name)


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = _write(tmp_path, "datastores:\n  mysql: [unclosed\n")
    with pytest.raises(ConfigError) as err:
        catalog.load(path)
    assert str(path) in str(err.value) and "YAML" in str(err.value)


def test_missing_field_names_entry_and_field(tmp_path):
    data = _good()
    del data["datastores"]["redis"]["manager"]
    with pytest.raises(ConfigError) as err:
        catalog.load(_write(tmp_path, data))
    assert "entry redis" in str(err.value) and "manager" in str(err.value)


def test_wrong_type_names_field(tmp_path):
    data = _good()
    data["datastores"]["mariadb"]["capabilities"] = ["instance", "teleport"]
    with pytest.raises(ConfigError) as err:
        catalog.load(_write(tmp_path, data))
    assert "entry mariadb, field capabilities.1" in str(err.value)


def test_version_on_undeclared_os_is_inconsistent(tmp_path):
    data = _good()
    data["datastores"]["mariadb"]["versions"][0]["os"] = ["plan9"]
    with pytest.raises(ConfigError) as err:
        catalog.load(_write(tmp_path, data))
    assert "entry mariadb, field versions.0.os" in str(err.value)
    assert "plan9" in str(err.value)


def test_strategy_for_unclaimed_capability_is_inconsistent(tmp_path):
    data = _good()
    data["datastores"]["couchbase"]["strategies"].append(
        {"name": "x", "capability": "cluster", "trove_name": "X"})
    with pytest.raises(ConfigError) as err:
        catalog.load(_write(tmp_path, data))
    assert "entry couchbase, field strategies.1.capability" in str(err.value)


def test_missing_engine_module_is_inconsistent(tmp_path):
    data = _good()
    data["datastores"]["vertica"]["engine_module"] = "vertica"
    with pytest.raises(ConfigError) as err:
        catalog.load(_write(tmp_path, data))
    assert "verify/engines/vertica/" in str(err.value)


def test_cli_reports_bad_catalog_in_one_line_without_traceback(tmp_path):
    path = _write(tmp_path, textwrap.dedent("""\
        datastores:
          mysql: {manager: 3}
    """))
    proc = cli("catalog", "--file", str(path))
    assert proc.returncode == EXIT_CONFIG
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "entry mysql" in proc.stderr


def test_cli_prints_catalog():
    proc = cli("catalog", "--format", "json")
    assert proc.returncode == 0
    assert "mariadb" in proc.stdout and "cassandra" in proc.stdout


def test_unknown_datastore_is_a_usage_level_error(results):
    proc = cli("run", "nosuchdb")
    assert proc.returncode == EXIT_CONFIG
    assert "unknown datastore 'nosuchdb'" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_cli_argument_exit_code_is_not_a_verdict():
    proc = cli("run", "mariadb", "--tier", "platinum")
    assert proc.returncode == 64
    assert "Traceback" not in proc.stderr


def test_tox_has_a_verify_env_per_datastore_that_runs_here():
    """tox lists only what works: a verify env for each datastore whose
    engine runs here, none for the others."""
    from verify import catalog

    tox = (REPO / "tox.ini").read_text()
    for ds in catalog.default():
        assert (f"{ds.name}: trove-verify run {ds.name}" in tox) == bool(ds.engine_module), \
            ds.name
