"""Oracle MySQL 9.7 from Debian sid, for real, in a sid root filesystem.

The engine test runs in the debootstrap tree tools/setup.d/mysql-sid.sh
caches (built here when absent and we are root, ~1 min); the CLI test runs
the catalog's suite in a namespace guest from the DIB image, when that image
is cached (tools/ci-images.sh or any earlier `trove-verify run mysql`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.preview import (  # noqa: F401  (fixture)
    assert_every_claim_covered,
    processes_under,
    run_preview,
    workdir,
)
from tests.integration.rootfs_guest import SID_MYSQL_ROOTFS, RootfsGuest, rootfs_ready
from verify import catalog
from verify.engines.base import wait_for
from verify.engines.mysql import client as mysql_client
from verify.engines.mysql import server as mysql


@pytest.fixture(scope="module")
def sid_rootfs() -> Path:
    if not rootfs_ready():
        if os.geteuid() != 0:
            pytest.skip("the sid MySQL root filesystem is not built and building it "
                        "needs root: run tools/setup.sh")
        proc = subprocess.run(["bash", str(REPO / "tools/build-sid-mysql-rootfs.sh")],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return SID_MYSQL_ROOTFS


@pytest.fixture
def servers(sid_rootfs):
    made: list[tuple[RootfsGuest, mysql.MySQLServer]] = []

    def make() -> mysql.MySQLServer:
        guest = RootfsGuest(sid_rootfs)
        server = mysql.SERVER(guest, version="9.7")
        made.append((guest, server))
        return server
    yield make

    def teardown(pair) -> None:
        guest, server = pair
        try:
            server.stop()
        finally:
            guest.destroy()
    with ThreadPoolExecutor(max_workers=4) as pool:   # shutdowns in parallel
        list(pool.map(teardown, made))


def _items(server, database="verify_db"):
    with mysql_client.connect(server.runtime.address, server.port, server.admin, database) as c:
        return c.read_items()


def _write(server, items, database="verify_db"):
    with mysql_client.connect(server.runtime.address, server.port, server.admin, database) as c:
        c.write_items(items)


def _backup(server, strategy):
    """As the backend does: the engine writes into a directory of its guest."""
    dest = f"{server.base}/backup-staging/{strategy}"
    server.runtime.make_dirs(f"{server.base}/backup-staging", dest)
    return server.backup(strategy, Path(dest))


def _placed(backup, source, server):
    """The backup copied into server's guest, where its restore reads it."""
    inside = f"{server.base}/backup-copies/{backup.strategy}"
    server.runtime.make_dirs(server.base, f"{server.base}/backup-copies")
    shutil.copytree(source.runtime.path(str(backup.path)), server.runtime.path(inside),
                    symlinks=True)
    return dataclasses.replace(backup, path=Path(inside))


def _caught_up(replica, primary):
    wait_for(lambda: replica.replication_caught_up(primary), timeout=60,
             what="replica catching up")


def test_mysql_97_backups_replication_and_failover(servers):
    primary = servers()
    primary.start()
    ident = primary.identity()
    assert (ident.name, ident.version[:3]) == ("mysql", "9.7"), ident
    with primary.client() as c:
        # nothing anonymous or password-less, no X protocol
        assert c.query("SELECT User, Host FROM mysql.user WHERE account_locked='N' "
                       "AND (User='' OR authentication_string='')") == []
        assert c.query("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS "
                       "WHERE PLUGIN_NAME = 'mysqlx'") in ([], [("DISABLED",)])
        c.create_database("verify_db")
    _write(primary, {"k1": "seed"})

    clone, dump = _backup(primary, "clone"), _backup(primary, "mysqldump")
    assert clone.meta["binlog_file"] and dump.meta["binlog_file"]

    # physical copy seeds a GTID replica; the logical dump a binlog-position one
    gtid_replica, binlog_replica = servers(), servers()
    gtid_replica.restore(_placed(clone, primary, gtid_replica))
    primary.attach_replica(gtid_replica, "mysql_gtid", clone)
    binlog_replica.restore(_placed(dump, primary, binlog_replica))
    primary.attach_replica(binlog_replica, "mysql_binlog", dump)
    _write(primary, {"k2": "live"})
    for replica in (gtid_replica, binlog_replica):
        _caught_up(replica, primary)
        assert _items(replica) == {"k1": "seed", "k2": "live"}
        assert replica.read_only()

    # detach: standalone and writable, no longer receiving the source's rows
    binlog_replica.detach()
    assert not binlog_replica.read_only()
    _write(binlog_replica, {"k4": "own"})

    # promote: the old primary follows the new one and stays read-only
    gtid_replica.promote()
    primary.follow(gtid_replica, "mysql_gtid")
    _write(gtid_replica, {"k3": "after-promote"})
    _caught_up(primary, gtid_replica)
    assert _items(primary)["k3"] == "after-promote" and primary.read_only()
    assert _items(binlog_replica) == {"k1": "seed", "k2": "live", "k4": "own"}


def _need_sid_image() -> None:
    from verify.guests import namespace
    from verify.images import cached, spec_for

    reason = namespace.unavailable()
    if reason:
        pytest.skip(f"namespace guests cannot run here: {reason}")
    if cached(spec_for(catalog.load().get("mysql"), "debian-sid")) is None:
        pytest.skip("the debian-sid-mysql image is not built: run tools/ci-images.sh "
                    "or `trove-verify image build mysql`")


def test_cli_runs_the_mysql_97_preview_suite_in_a_namespace_guest(results, workdir):  # noqa: F811
    _need_sid_image()
    run = run_preview("mysql", results, workdir, "--guest", "namespace")
    assert run["guest"] == "namespace" and run["image"]["name"] == "debian-sid-mysql"
    assert run["engine"]["name"] == "mysql" and run["engine"]["version"].startswith("9.7")
    # XtraBackup is not packaged for MySQL 9.7 by any archive reachable here
    passed = assert_every_claim_covered(run, "mysql", frozenset({"innobackupex"}))
    assert {"mysqldump", "clone"} <= passed["backup"]
    assert {"mysql_gtid", "mysql_binlog"} <= passed["replication"]
    assert "group_replication" in passed["cluster"]


def test_crash_and_pause_faults_heal_on_a_namespace_guest(workdir, tmp_path,  # noqa: F811
                                                          monkeypatch):
    """SIGKILL reaches mysqld, not the nsenter above it: an orphaned, unreaped
    mysqld once held the socket lock and the restarted server refused to run."""
    from verify.runner import RunOptions, execute
    from verify.scenarios import planner

    _need_sid_image()
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir / "work"))
    wanted = {"nemesis.crash_restart", "nemesis.pause_resume"}
    original = planner.scenario_methods
    monkeypatch.setattr(planner, "scenario_methods",
                        lambda: [m for m in original() if m[2].id in wanted])
    record = execute(RunOptions(datastore="mysql", tier="stable", guest="namespace",
                                results=tmp_path / "results"), say=lambda _: None)
    by_id = {s["id"]: s for s in record["scenarios"]}
    assert wanted <= set(by_id)
    for sid in wanted:
        assert by_id[sid]["status"] == "pass", by_id[sid]
        assert by_id[sid]["observed"]["nemesis"]["lost"] == 0
    assert processes_under(workdir) == []


def test_group_replication_cluster_create_grow_shrink(servers):
    nodes = [servers() for _ in range(4)]
    first = nodes[0]
    first.cluster_create("group_replication", nodes[:3])
    assert [n.cluster_size() for n in nodes[:3]] == [3, 3, 3]
    with first.client() as c:
        c.create_database("verify_db")
    _write(first, {"k1": "created"})
    wait_for(lambda: _items(nodes[2]) == {"k1": "created"}, timeout=60,
             what="a write seen on another member")

    first.cluster_grow("group_replication", nodes[:3], nodes[3:])
    assert first.cluster_size() == 4
    assert _items(nodes[3]) == {"k1": "created"}
    _write(nodes[3], {"k2": "grown"})       # multi-primary: the new member takes writes

    first.cluster_shrink("group_replication", [nodes[0], nodes[2], nodes[3]], [nodes[1]])
    for node in (nodes[0], nodes[2], nodes[3]):
        wait_for(lambda node=node: _items(node) == {"k1": "created", "k2": "grown"},
                 timeout=60, what="data intact after the shrink")
        assert node.cluster_size() == 3
