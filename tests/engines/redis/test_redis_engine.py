"""Redis engine logic that needs no server: identity from INFO, the ACL file,
configuration rules."""

import hashlib

import pytest

from verify.engines.capabilities import ConfigurationRejected, validate_configuration
from verify.engines.redis import client as rc
from verify.engines.redis import ops


def test_identity_from_redis_info():
    ident = rc.identity_from({"redis_version": "7.0.15", "redis_build_id": "ae4d7c971a948f0"})
    assert (ident.name, ident.version) == ("redis", "7.0.15")
    assert "ae4d7c971a948f0" in ident.distribution


def test_valkey_names_itself_even_with_redis_fields():
    info = {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.1.1"}
    assert (rc.identity_from(info).name, rc.identity_from(info).version) == ("valkey", "8.1.1")


def test_acl_line_keeps_only_a_hash_of_the_password():
    line = rc.acl_line("os_admin", "s3cret-pass")
    assert "s3cret-pass" not in line
    assert f"#{hashlib.sha256(b's3cret-pass').hexdigest()}" in line
    assert line.startswith("user os_admin on ")


def test_other_users_drops_builtin_users_and_keeps_the_last_definition():
    lines = ["user default off -@all", "user os_admin on #ab ~* +@all",
             "user replicator on #cd +psync", "user app on #01 ~* +@all",
             "user app on #02 ~app:* +@read", "# comment"]
    assert rc.other_users(lines, "os_admin") == ["user app on #02 ~app:* +@read"]


@pytest.mark.parametrize("given,expected", [(True, "yes"), (False, "no"), ("on", "yes"),
                                            ("OFF", "no"), (300, "300"), ("allkeys-lru",
                                                                          "allkeys-lru")])
def test_redis_values(given, expected):
    assert ops.redis_value(given) == expected


def test_every_rule_has_a_default_to_return_to():
    for name, rule in ops.CONFIG_RULES.items():
        assert name == "maxmemory" or name in ops.DEFAULTS, name
        if rule.example is not None:
            validate_configuration(ops.CONFIG_RULES, {name: rule.example})


@pytest.mark.parametrize("values", [{"hz": 1000}, {"hz": 0}, {"timeout": "soon"},
                                    {"appendonly": "maybe"}, {"requirepass": "x"}])
def test_bad_values_are_refused(values):
    with pytest.raises(ConfigurationRejected) as err:
        validate_configuration(ops.CONFIG_RULES, values, engine="Redis")
    assert next(iter(values)) in str(err.value)


class _Node:
    """Stands in for a server only to feed nodes_seen a CLUSTER NODES reply."""

    def __init__(self, reply):
        self.reply = reply

    def client(self):
        node = self

        class _Conn:
            def execute_command(self, *_):
                return node.reply

        class _Client:
            conn = _Conn()

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None
        return _Client()


def test_nodes_seen_counts_healthy_members_only():
    from verify.engines.redis import cluster as redis_cluster
    reply = "\n".join([
        "a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460",
        "b2 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922",
        "c3 127.0.0.1:7003@17003 master,fail - 0 0 3 connected",
        "d4 127.0.0.1:7004@17004 handshake - 0 0 0 connected",
        "e5 127.0.0.1:7005@17005 master - 0 0 5 connected 10923-16383",
    ])
    assert redis_cluster.nodes_seen(_Node(reply)) == 3
    parsed = {"127.0.0.1:7001": {"flags": "myself,master"}, "127.0.0.1:7002": {"flags": "master"},
              "127.0.0.1:7003": {"flags": "master,fail"}}
    assert redis_cluster.nodes_seen(_Node(parsed)) == 2
