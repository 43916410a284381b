"""The box's client side without a box: status of a dead daemon, clouds.yaml
mode, Trove checkout checks, the default-backend choice and secret
registration."""

import os

import pytest

from verify import redact
from verify.box import client, manage, trove_install
from verify.box.paths import BoxPaths, write_status
from verify.errors import ConfigError


def test_status_is_down_without_a_live_daemon(tmp_path):
    paths = BoxPaths(tmp_path / "box")
    assert manage.status(paths) == {"state": "down"}
    write_status(paths, {"state": "up", "pid": 2 ** 22 + 12345})   # no such process
    got = manage.status(paths)
    assert got["state"] == "down" and "cleanup" in got["note"]
    write_status(paths, {"state": "up", "pid": os.getpid()})
    assert manage.status(paths)["state"] == "up"


def test_clouds_yaml_is_private_and_names_the_box_cloud(tmp_path):
    paths = BoxPaths(tmp_path)
    path = paths.write_clouds_yaml("http://127.0.0.1:5/v3", "s3cret-pw", "RegionOne")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "trove-box:" in path.read_text()


def test_trove_src_must_be_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_TROVE_VENV", str(tmp_path / "venv"))
    with pytest.raises(ConfigError, match="not a Trove checkout"):
        trove_install.resolve(str(tmp_path))
    with pytest.raises(ConfigError, match="tools/setup.sh"):
        trove_install.resolve(None)


def test_default_backend_names_its_reason(tmp_path, monkeypatch):
    pkg = tmp_path / "src" / "trove" / "common"
    pkg.mkdir(parents=True)
    (pkg / "constants.py").write_text("REGISTRY_EXT_DEFAULTS = {'mariadb': 'x.M'}\n")
    monkeypatch.setenv("TROVE_VERIFY_TROVE_SRC", str(tmp_path / "src"))
    backend, why = client.default_backend("cassandra")
    assert backend == "local" and "no guest-agent manager for cassandra" in why
    monkeypatch.setattr(manage, "cannot_host", lambda: "the box needs root")
    backend, why = client.default_backend("mariadb")
    assert backend == "local" and "cannot host the box: the box needs root" in why
    monkeypatch.setattr(manage, "cannot_host", lambda: None)
    assert client.default_backend("mariadb")[0] == "trove"


def test_box_secrets_are_registered_for_redaction(tmp_path):
    paths = BoxPaths(tmp_path)
    (paths.run / "trove").mkdir(parents=True)
    (paths.run / "trove" / "trove.conf").write_text(
        "[DEFAULT]\ntransport_url = rabbit://u:rabbit%2Fpw@127.0.0.1:5/v\n"
        "taskmanager_rpc_encr_key = rpc-key-123\n[database]\n"
        "connection = mysql+pymysql://trove:db-pw-456@127.0.0.1:3/trove\n"
        "[service_credentials]\npassword = svc-pw-789\n")
    paths.write_clouds_yaml("http://x/v3", "admin-pw-000", "R")
    client.register_secrets(paths)
    text = redact.redact("rabbit/pw rpc-key-123 db-pw-456 svc-pw-789 admin-pw-000")
    for secret in ("rabbit/pw", "rpc-key-123", "db-pw-456", "svc-pw-789", "admin-pw-000"):
        assert secret not in text
