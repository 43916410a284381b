"""The trove backend's configuration handling that needs no cloud."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from verify.backends.trove import flavors_from_env
from verify.backends.trove_cloud import Cloud, _api_version, open_cloud, provenance
from verify.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _cloud() -> Cloud:
    return Cloud(name="devstack-admin", region="RegionOne", session=None, trove=None,
                 endpoint="http://10.0.0.5:8779/v1.0/abc", api_version="1.0")


def test_provenance_outside_a_gate():
    prov = provenance(_cloud(), environ={})
    assert prov["kind"] == "trove" and prov["job"] is None and prov["voting"] is None
    assert prov["cloud"] == "devstack-admin" and prov["region"] == "RegionOne"
    assert prov["trove_api_version"] == "1.0"


def test_provenance_inside_a_gate_job():
    prov = provenance(_cloud(), environ={"ZUUL_JOB": "trove-verify-mariadb",
                                         "TROVE_VERIFY_GATE_VOTING": "true"})
    assert prov["job"] == "trove-verify-mariadb" and prov["voting"] is True
    prov = provenance(_cloud(), environ={"TROVE_VERIFY_GATE_JOB": "j"})
    assert prov["voting"] is False


def test_api_version_from_the_catalog_endpoint():
    assert _api_version("http://h:8779/v1.0/p") == "1.0"
    assert _api_version("http://h/database") == "unknown"


def test_no_cloud_named_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OS_CLOUD", raising=False)
    with pytest.raises(ConfigError, match="--cloud"):
        open_cloud(None)


def test_unknown_cloud_is_a_config_error(monkeypatch, tmp_path):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text("clouds:\n  other:\n    auth: {auth_url: 'http://127.0.0.1:1/v3'}\n")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    with pytest.raises(ConfigError, match="'missing'"):
        open_cloud("missing")


def test_flavor_pins_from_the_environment():
    env = {"TROVE_VERIFY_TROVE_FLAVOR_SMALL": "m1.small", "TROVE_VERIFY_TROVE_FLAVOR_LARGE": "",
           "OTHER": "x"}
    assert flavors_from_env(env) == {"small": "m1.small"}


def test_tempest_plugin_registers_only_its_own_group():
    pytest.importorskip("tempest")
    from oslo_config import cfg

    from verify.tempest_plugin import TroveVerifyTempestPlugin
    conf = cfg.ConfigOpts()
    plugin = TroveVerifyTempestPlugin()
    plugin.register_opts(conf)
    assert [group for group, _ in plugin.get_opt_lists()] == ["trove_verify"]
    assert "service_available" not in conf
    test_dir, base = plugin.load_tests()
    assert Path(test_dir).is_dir() and Path(base) == REPO
    entry = configparser.ConfigParser()
    entry.read(REPO / "setup.cfg")
    assert "verify.tempest_plugin:TroveVerifyTempestPlugin" in \
        entry["entry_points"]["tempest.test_plugins"]
