"""Redis 7 for real: the engine's rules against the server, its security
defaults, and the whole technical-preview suite (with Redis Cluster) through
the CLI."""

from __future__ import annotations

import pytest
import redis as redis_py

from tests.conftest import need
from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    run_preview,
    started_on_process_guest,
    workdir,
)
from verify.engines.redis import client as rc
from verify.engines.redis import ops
from verify.engines.redis import server as rd


@pytest.fixture(scope="module")
def server():
    need("redis-server")
    with started_on_process_guest(
            "redis-rules", lambda g: rd.SERVER(g, version="7.0", memory_mb=256)) as srv:
        yield srv


def test_rules_name_real_parameters_and_dynamic_ones_apply_online(server):
    with server.client() as c:
        for name, rule in ops.CONFIG_RULES.items():
            assert name in c.conn.config_get(name), name
            if rule.dynamic and rule.example is not None:
                c.conn.config_set(name, ops.redis_value(rule.example))
    for name, default in ops.DEFAULTS.items():
        if not ops.CONFIG_RULES[name].example:
            assert server.setting(name) == default, name


def test_no_login_without_the_admin_password(server):
    anonymous = redis_py.Redis(host=server.runtime.address, port=server.port,
                               socket_timeout=5, retry=rc.NO_RETRY)
    with pytest.raises(redis_py.AuthenticationError):
        anonymous.set("k", "v")
    anonymous.close()
    acl = server.runtime.path(server.acl_file).read_text()
    assert server.admin.password not in acl


def test_identity_comes_from_the_server(server):
    ident = server.identity()
    assert ident.name == "redis" and ident.version.startswith("7.")


def test_redis_technical_preview_run(results, workdir):  # noqa: F811
    need("redis-server")
    need("redis-cli")
    run = run_preview("redis", results, workdir)
    assert run["engine"]["name"] == "redis"
    assert run["engine"]["version"].startswith("7.")
    passed = assert_every_claim_covered(run, "redis")
    assert {"databases", "users", "root"} <= set(run["not_claimed"])
    assert "redis_rdb" in passed["backup"]
    assert "redis_sync" in passed["replication"]
    assert "redis_cluster" in passed["cluster"]
    assert passed.get("configuration") and passed.get("guest_logs")
