"""MongoDB engine pieces that need no server: where mongod comes from (image,
cache staged for the service user, none), the configuration rules, and the
refusals that must skip rather than pass."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from verify.engines.capabilities import ConfigurationRejected, validate_configuration
from verify.engines.mongodb import ops
from verify.engines.mongodb import runtime as rt
from verify.engines.mongodb import server as mongodb
from verify.errors import EngineError, NotSupported


def _fake_version(root: Path, version: str, lib: bool = False) -> Path:
    d = root / version
    (d / "bin").mkdir(parents=True)
    (d / "bin" / "mongod").write_text("#!/bin/sh\n")
    (d / "bin" / "mongod").chmod(0o700)
    if lib:
        (d / "lib").mkdir()
        (d / "lib" / "libssl.so.1.1").write_text("")
    (d / ".complete").touch()
    return d


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A cache under a 0700 directory, as root's home is."""
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    root = private / "mongodb"
    monkeypatch.setenv("TROVE_VERIFY_MONGODB_ROOT", str(root))
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path / "work"))
    monkeypatch.delenv(rt.ENV_MONGOD, raising=False)
    monkeypatch.delenv(mongodb.ENV_STANDIN, raising=False)
    return root


def test_a_private_cache_is_staged_world_readable_with_its_libssl(private_cache):
    _fake_version(private_cache, "6.0.27", lib=True)
    found = rt.locate("6.0.27")
    binary = Path(found.binary)
    assert not str(binary).startswith(str(private_cache))
    assert binary.read_text() == "#!/bin/sh\n"
    assert os.stat(binary).st_mode & stat.S_IXOTH
    assert found.lib and (Path(found.lib) / "libssl.so.1.1").exists()
    assert found.env() == {"LD_LIBRARY_PATH": found.lib}


def test_an_image_copy_wins_over_the_cache(private_cache, tmp_path):
    guest_root = tmp_path / "rootfs"
    _fake_version(guest_root / rt.GUEST_ROOT.lstrip("/"), "6.0.5")

    def guest_path(p: str) -> Path:
        return guest_root / p.lstrip("/")

    found = rt.locate("6.0.5", guest_path)
    assert found.binary == f"{rt.GUEST_ROOT}/6.0.5/bin/mongod"
    assert found.lib is None and found.env() is None


def test_no_mongod_is_an_error_naming_where_it_looked(private_cache):
    with pytest.raises(EngineError) as err:
        rt.locate("6.0.5")
    assert str(private_cache / "6.0.5") in str(err.value)
    assert "tools/setup.sh" in str(err.value)
    assert rt.missing("6.0.5") and "\n" not in rt.missing("6.0.5")


def test_an_unfinished_cache_entry_does_not_count(private_cache):
    d = _fake_version(private_cache, "6.0.5")
    (d / ".complete").unlink()
    assert rt.missing("6.0.5")


def test_configuration_rules_refuse_bad_values_and_unknown_names():
    rules = mongodb.SERVER.CONFIG_RULES
    assert {r.dynamic for r in rules.values()} == {True, False}
    with pytest.raises(ConfigurationRejected, match="cursorTimeoutMillis"):
        validate_configuration(rules, {"cursorTimeoutMillis": 10})
    with pytest.raises(ConfigurationRejected, match="no such parameter"):
        validate_configuration(rules, {"notablescan": True}, engine="MongoDB")


def test_the_stand_in_names_no_configuration_rules(monkeypatch):
    monkeypatch.setenv(mongodb.ENV_STANDIN, "secantusdb")
    assert mongodb.SERVER.CONFIG_RULES == {}


def test_sharding_and_unknown_cluster_strategies_are_not_supported():
    with pytest.raises(NotSupported, match="no mongos"):
        ops.ReplicaSetOps()._no_sharding(ops.SHARDED)
    with pytest.raises(NotSupported, match="galera"):
        ops.ReplicaSetOps()._no_sharding("galera")
    ops.ReplicaSetOps()._no_sharding(ops.REPLICA_SET)   # the one it runs
