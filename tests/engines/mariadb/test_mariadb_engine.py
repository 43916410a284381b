"""MariaDB engine logic that needs no server: GTID parsing, the Galera and
replication configuration it writes, its configuration rules, and the
strategies it refuses (the integration test runs the real thing)."""

import itertools

import pytest

from verify.engines.capabilities import Backup, validate_configuration
from verify.engines.mariadb import server as mariadb
from verify.engines.mariadb.backup import gtid_from
from verify.engines.mariadb.replication import gtid_sequence
from verify.errors import NotSupported


class StubRuntime:
    """Just enough of a guest to render configuration; nothing is launched."""

    name = "stub"
    host_binaries = False
    address = bind_address = "127.0.0.1"
    data_root = "/nonexistent/instance"

    def __init__(self):
        self._ports = itertools.count(40000)

    def free_port(self) -> int:
        return next(self._ports)


def server():
    return mariadb.MariaDBServer(StubRuntime(), version="10.11", memory_mb=1024)


def test_gtid_sequence_reads_one_domain():
    assert gtid_sequence("0-17-42,1-3-9") == 42
    assert gtid_sequence("0-17-42,1-3-9", domain="1") == 9
    assert gtid_sequence("") == 0


def test_gtid_from_backup_info(tmp_path):
    info = tmp_path / "xtrabackup_binlog_info"
    info.write_text("mariadb-bin.000002\t1234\t0-1-5\n")
    assert gtid_from(info) == "0-1-5"
    assert gtid_from(tmp_path / "missing") == ""


def test_config_has_binlog_and_memory_from_flavor_but_no_galera():
    s = server()
    config = s._config()
    assert f"server_id={s.server_id}" in config and "log_bin=" in config
    assert "innodb_buffer_pool_size=256M" in config
    assert "wsrep" not in config
    assert s.memory_setting_mb(256) == 64


def test_galera_node_config_names_its_own_ports_and_every_peer():
    nodes = [server() for _ in range(3)]
    for n in nodes:
        n._galera_prepare("verify-test")
    nodes[0]._set_peers(nodes)
    config = nodes[1]._config()
    g = nodes[1].galera
    assert len({nodes[1].port, g["port"], g["ist"], g["sst"]}) == 4
    peers = ",".join(f"127.0.0.1:{n.galera['port']}" for n in nodes)
    assert f"wsrep_cluster_address=gcomm://{peers}" in config
    assert f"wsrep_sst_receive_address=127.0.0.1:{g['sst']}" in config
    assert f"ist.recv_addr=127.0.0.1:{g['ist']}" in config
    assert "wsrep_sst_method=rsync" in config
    assert nodes[1]._galera_args() == []
    nodes[0].galera["bootstrap"] = True
    assert nodes[0]._galera_args() == ["--wsrep-new-cluster"]


def test_config_rules_examples_obey_their_rules():
    examples = {n: r.example for n, r in mariadb.CONFIG_RULES.items() if r.example is not None}
    assert validate_configuration(mariadb.CONFIG_RULES, examples)
    assert any(mariadb.CONFIG_RULES[n].dynamic for n in examples)
    assert any(not mariadb.CONFIG_RULES[n].dynamic for n in examples)


@pytest.mark.parametrize("strategy", ["mariabackup", "mariadb_dump"])
def test_full_only_strategies_refuse_a_parent(strategy, tmp_path):
    parent = Backup("mariabackup", tmp_path)
    with pytest.raises(NotSupported, match="mariabackup_incremental"):
        server().backup(strategy, tmp_path, parent=parent)


def test_unknown_strategies_are_not_supported(tmp_path):
    s = server()
    with pytest.raises(NotSupported):
        s.backup("xtrabackup", tmp_path)
    with pytest.raises(NotSupported):
        s.cluster_create("pxc", [s])
    with pytest.raises(NotSupported):
        s.attach_replica(server(), "mysql_binlog", Backup("mariabackup", tmp_path))


def test_gtid_found_under_either_mariabackup_file_name(tmp_path):
    from verify.engines.mariadb.backup import gtid_in
    assert gtid_in(tmp_path) == ""
    (tmp_path / "mariadb_backup_binlog_info").write_text("mariadb-bin.000002\t342\t0-1-9\n")
    assert gtid_in(tmp_path) == "0-1-9"       # MariaDB 11.x
    (tmp_path / "mariadb_backup_binlog_info").unlink()
    (tmp_path / "xtrabackup_binlog_info").write_text("mariadb-bin.000001\t100\t0-1-5\n")
    assert gtid_in(tmp_path) == "0-1-5"       # MariaDB 10.x
