"""The box's Swift without a box: what its configs bind and authenticate
with, and that a piece that cannot start is one line naming it and its log."""

import configparser
import stat

import pytest

from verify import redact
from verify.box import client, swift
from verify.box.control import PieceFailed
from verify.box.paths import BoxPaths
from verify.box.trove_install import TroveInstall
from verify.state import Ledger


def _parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def test_storage_servers_bind_loopback_in_one_process(tmp_path):
    for kind in swift.STORAGE:
        conf = _parse(swift.storage_conf(kind, port=6001, devices=tmp_path / "srv",
                                         swift_dir=tmp_path))
        d = conf.defaults()
        assert d["bind_ip"] == "127.0.0.1" and d["bind_port"] == "6001"
        assert d["workers"] == "0" and d["swift_dir"] == str(tmp_path)
        assert conf[f"app:{kind}-server"]["use"] == f"egg:swift#{kind}"


def test_proxy_binds_the_box_address_and_authenticates_through_keystone(tmp_path):
    conf = _parse(swift.proxy_conf(address="10.213.0.21", port=8080, swift_dir=tmp_path,
                                   auth_url="http://127.0.0.1:5000/v3", password="pw-1",
                                   region="RegionOne"))
    assert conf.defaults()["bind_ip"] == "10.213.0.21"
    pipeline = conf["pipeline:main"]["pipeline"].split()
    # authtoken validates the token before keystoneauth decides, both before the app
    assert pipeline.index("authtoken") < pipeline.index("keystoneauth") < \
        pipeline.index("proxy-server")
    auth = conf["filter:authtoken"]
    assert auth["paste.filter_factory"].startswith("keystonemiddleware.auth_token")
    assert auth["auth_url"] == "http://127.0.0.1:5000/v3" and auth["password"] == "pw-1"
    assert conf["filter:keystoneauth"]["use"] == "egg:swift#keystoneauth"


def test_hash_settings_are_the_ones_given():
    conf = _parse(swift.swift_conf("suffix-a", "prefix-b"))
    assert conf["swift-hash"]["swift_hash_path_suffix"] == "suffix-a"
    assert conf["storage-policy:0"]["default"] == "yes"


def _swift(tmp_path, venv) -> swift.Swift:
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    return swift.Swift(root=tmp_path / "swift", ledger=Ledger("t", tmp_path / "state"),
                       trove=TroveInstall(venv=venv, version="26.0.0"), logs=logs)


def test_a_venv_without_swift_is_one_line_naming_the_fix(tmp_path):
    s = _swift(tmp_path, tmp_path / "venv")
    with pytest.raises(PieceFailed) as err:
        s.start_storage()
    line = str(err.value)
    assert "\n" not in line and line.startswith("box up: Swift install did not start")
    assert "tools/setup.sh" in line and swift.PINNED in line
    assert not (tmp_path / "swift").exists()      # nothing made before the check


def test_a_ring_builder_failure_names_the_ring_and_its_log(tmp_path):
    bindir = tmp_path / "venv" / "bin"
    bindir.mkdir(parents=True)
    builder = bindir / "swift-ring-builder"
    builder.write_text("#!/bin/sh\necho 'no such thing' >&2\nexit 2\n")
    builder.chmod(builder.stat().st_mode | stat.S_IXUSR)
    s = _swift(tmp_path, tmp_path / "venv")
    s.root.mkdir()
    s.ports = {kind: 6000 + i for i, kind in enumerate(swift.STORAGE)}
    with pytest.raises(PieceFailed) as err:
        s._rings()
    line = str(err.value)
    assert line.startswith("box up: Swift ") and " ring did not start" in line
    assert "swift-ring-builder create exited 2" in line and "swift-rings-" in line
    assert "no such thing" in (tmp_path / "logs" / "swift-rings-account.log").read_text()


def test_the_swift_service_password_is_redacted(tmp_path):
    paths = BoxPaths(tmp_path)
    (paths.run / "swift").mkdir(parents=True)
    (paths.run / "swift" / "proxy-server.conf").write_text(swift.proxy_conf(
        address="10.0.0.1", port=1, swift_dir=tmp_path, auth_url="http://x/v3",
        password="swift-pw-4242", region="R"))
    client.register_secrets(paths)
    assert "swift-pw-4242" not in redact.redact("token swift-pw-4242")


def test_registry_config_listens_on_the_box_address_only(tmp_path):
    import yaml

    from verify.box import registry
    conf = yaml.safe_load(registry.config_yml(storage=tmp_path / "s", address="10.213.0.21",
                                               port=5123))
    assert conf["http"]["addr"] == "10.213.0.21:5123"
    assert conf["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "s")


def test_a_missing_registry_binary_is_one_line(tmp_path, monkeypatch):
    from verify.box import registry
    monkeypatch.setattr(registry.shutil, "which", lambda name: None)
    reg = registry.Registry(root=tmp_path / "registry", ledger=Ledger("r", tmp_path / "st"),
                            logs=tmp_path)
    with pytest.raises(PieceFailed) as err:
        reg.start("10.0.0.1")
    assert str(err.value).startswith("box up: container registry did not start")
    assert "docker-registry" in str(err.value) and "\n" not in str(err.value)


def test_guest_agent_conf_names_the_backup_image_only_where_there_is_one():
    from verify.box.control import DatastoreSpec, guestagent_conf
    specs = [DatastoreSpec("mariadb", "mariadb", ["10.11"], "mariadb"),
             DatastoreSpec("mysql", "mysql", ["8.4"], "mysql")]
    conf = _parse(guestagent_conf("rabbit://x", specs,
                                  {"mariadb": "10.0.0.1:5000/trove-backup-mariadb"}))
    assert conf["mariadb"]["backup_docker_image"] == "10.0.0.1:5000/trove-backup-mariadb"
    assert "backup_docker_image" not in conf["mysql"]


def test_trove_conf_keeps_troves_replica_volume_check_now_volumes_are_served(tmp_path):
    # without volumes both sizes were None and Trove 26's comparison raised (a
    # 500), so the box turned it off; with Cinder's calls served it stays on
    from verify.box.control import trove_conf
    text = trove_conf(port=1, paste=tmp_path, log_dir=tmp_path, db_url="sqlite://",
                      auth_url="http://x/v3", service_password="p", transport_url="rabbit://",
                      guest_config=tmp_path, rpc_key="k", inst_key="k", datastores=[])
    conf = _parse(text)
    assert conf.defaults()["trove_volume_support"] == "True"
    assert "verify_replica_volume_size" not in conf.defaults()
