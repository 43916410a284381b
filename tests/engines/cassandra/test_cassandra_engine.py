"""The Cassandra engine's own decisions, checked without a JVM: the generated
cassandra.yaml, the bounded JVM command line, where jars and JDK 17 are looked
for, and names refused before they reach CQL. The real server is exercised by
tests/integration/test_cassandra_preview.py."""

from pathlib import Path

import pytest
import yaml

from verify.engines.cassandra import ops as cassandra_ops
from verify.engines.cassandra import runtime as cassandra_runtime
from verify.engines.cassandra import server as cassandra
from verify.errors import EngineError


class _Runtime:
    """Just enough of verify.engines.base.Runtime to build a server's files."""

    name = "process"
    host_binaries = True

    def __init__(self, root: Path):
        self.root = root
        self.address = self.bind_address = "127.0.0.1"
        self.files: dict[str, str] = {}

    @property
    def data_root(self) -> str:
        return str(self.root)

    def path(self, guest_path: str) -> Path:
        return Path(guest_path)

    def free_port(self) -> int:
        return cassandra.free_port(self.address)

    def make_dirs(self, *paths, mode=0o700) -> None:
        for p in paths:
            Path(p).mkdir(parents=True, exist_ok=True)

    def write_file(self, path: str, content: str, *, mode=0o644) -> None:
        self.files[path] = content


def _server(tmp_path, memory_mb=512):
    return cassandra.CassandraServer(_Runtime(tmp_path), version="5.0", memory_mb=memory_mb)


def test_process_nodes_get_their_own_loopback_address(tmp_path):
    a, b = _server(tmp_path / "a"), _server(tmp_path / "b")
    assert a.runtime.address != b.runtime.address
    for s in (a, b):
        assert s.runtime.address.startswith("127.") and s.runtime.address != "127.0.0.1"
        assert s.runtime.bind_address == s.runtime.address


def test_yaml_has_private_dirs_auth_and_own_address(tmp_path):
    s = _server(tmp_path)
    s.write_config()
    conf = yaml.safe_load(s.runtime.files[f"{tmp_path}/conf/cassandra.yaml"])
    for key in ("data_file_directories", "commitlog_directory", "hints_directory",
                "saved_caches_directory", "cdc_raw_directory"):
        value = conf[key][0] if isinstance(conf[key], list) else conf[key]
        assert value.startswith(str(tmp_path)), key
    assert conf["authenticator"] == "PasswordAuthenticator"
    assert conf["authorizer"] == "CassandraAuthorizer"
    assert conf["listen_address"] == conf["rpc_address"] == s.runtime.address
    assert conf["native_transport_port"] == s.port
    assert conf["storage_port"] == s.storage_port != s.port
    assert conf["num_tokens"] == 16
    assert conf["auto_bootstrap"] is False


def test_configuration_values_land_in_the_yaml(tmp_path):
    s = _server(tmp_path)
    s.settings.update({"concurrent_reads": 16, "hinted_handoff_enabled": False})
    conf = yaml.safe_load(s._yaml())
    assert conf["concurrent_reads"] == 16 and conf["hinted_handoff_enabled"] is False


@pytest.mark.parametrize("memory_mb, heap", [(256, 256), (512, 256), (1024, 512),
                                             (4096, 1024)])
def test_heap_is_bounded_both_ways(tmp_path, memory_mb, heap):
    assert _server(tmp_path, memory_mb).heap_mb == heap


def test_jvm_command_is_bounded_and_opens_jdk17_internals():
    env = cassandra_runtime.JavaEnv("/jdk/bin/java", "/lib", "/lib/jamm-0.4.0.jar", "5.0.9")
    argv = cassandra_runtime.jvm_argv(env, 256, {"a": "b"}, "Main")
    assert argv[0] == "/jdk/bin/java" and argv[-1] == "Main"
    assert "-Xmx256m" in argv and "-Xms256m" in argv
    assert "-javaagent:/lib/jamm-0.4.0.jar" in argv and "-Da=b" in argv
    assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in argv
    assert argv[argv.index("-cp") + 1] == "/lib/*"


def test_missing_jars_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TROVE_VERIFY_CASSANDRA_LIB", str(tmp_path / "none"))
    err = pytest.raises(EngineError, cassandra_runtime.locate, lambda p: tmp_path / p.lstrip("/"))
    assert "tools/setup.sh" in str(err.value) and str(tmp_path / "none") in str(err.value)


def test_jdk17_is_chosen_explicitly(tmp_path):
    for home in ("java-17-openjdk-amd64", "temurin-25-jdk-amd64"):
        java = tmp_path / "usr/lib/jvm" / home / "bin" / "java"
        java.parent.mkdir(parents=True)
        java.touch()
    found = cassandra_runtime._locate_java(lambda p: tmp_path / p.lstrip("/"))
    assert found == "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"


@pytest.mark.parametrize("name", ["a; DROP KEYSPACE x", "1abc", "x" * 60, "a-b", ""])
def test_names_outside_cql_identifiers_are_refused(name):
    with pytest.raises(EngineError):
        cassandra.cql_name(name)


def test_config_rules_have_examples_within_their_bounds():
    for rule in cassandra.CONFIG_RULES.values():
        assert rule.example is not None
        if rule.type == "integer":
            assert rule.min <= rule.example <= rule.max


def test_balanced_tokens_interleave_without_collisions():
    tokens = [cassandra_ops.balanced_tokens(i, 3, 16) for i in range(3)]
    flat = sorted(t for node in tokens for t in node)
    assert len(set(flat)) == 48
    assert all(-(2 ** 63) <= t < 2 ** 63 for t in flat)
    # consecutive ring positions belong to different nodes
    owner = {t: i for i, node in enumerate(tokens) for t in node}
    assert all(owner[a] != owner[b] for a, b in zip(flat, flat[1:], strict=False))


def test_a_repair_whose_jmx_connection_drops_is_run_again_then_fails_in_nodetools_words():
    from verify.engines.cassandra import ops as cassandra_ops
    from verify.errors import EngineError

    class Node:
        def __init__(self, drops: int, other: str | None = None):
            self.calls, self.drops, self.other = 0, drops, other

        def nodetool(self, *args, timeout):
            self.calls += 1
            if self.other:
                raise EngineError(self.other)
            if self.calls <= self.drops:
                raise EngineError("nodetool repair exited 2: error: JMX connection closed.")
            return ""

    flaky = Node(drops=2)
    cassandra_ops._repair_retrying(flaky, ("-full",), 10)
    assert flaky.calls == 3
    dead = Node(drops=9)
    with pytest.raises(EngineError, match="JMX connection closed"):
        cassandra_ops._repair_retrying(dead, ("-full",), 10)
    assert dead.calls == 3
    other = Node(drops=0, other="nodetool repair exited 1: keyspace does not exist")
    with pytest.raises(EngineError, match="does not exist"):
        cassandra_ops._repair_retrying(other, ("-full",), 10)
    assert other.calls == 1       # only a dropped connection is retried
