"""Redis Cluster (strategy redis_cluster) with Redis's own tool,
``redis-cli --cluster``: create with 3 masters, grow with add-node + check +
rebalance, shrink with rebalance --cluster-weight <node>=0, del-node, stop.

Nodes are RedisServer objects launched with CLUSTER_SETTINGS. The admin's
password reaches redis-cli through REDISCLI_AUTH, never the command line.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis as redis_py
from redis.cluster import ClusterNode, RedisCluster

from verify.engines.base import wait_for
from verify.errors import EngineError

CLUSTER_SETTINGS = {"cluster-enabled": "yes"}
SLOTS = 16384


def _addr(node) -> str:
    return f"{node.runtime.address}:{node.port}"


def cli(via, *args: str, check: bool = True):
    """redis-cli --cluster ARGS, run in the guest of node `via`."""
    return via.runtime.run(["redis-cli", "--user", via.admin.user, "--no-auth-warning",
                            "--cluster", *args],
                           env={"REDISCLI_AUTH": via.admin.password},
                           timeout=via.timeouts.cluster, check=check)


def node_id(node) -> str:
    with node.client() as c:
        return c.conn.execute_command("CLUSTER MYID")


def cluster_ok(node) -> bool:
    with node.client() as c:
        info = c.conn.execute_command("CLUSTER INFO")
    if isinstance(info, dict):
        return info.get("cluster_state") == "ok"
    return "cluster_state:ok" in str(info)


def checked(nodes: Sequence) -> bool:
    """`redis-cli --cluster check` passes from every node's point of view."""
    return all(cli(n, "check", _addr(n), check=False).returncode == 0 for n in nodes)


def _wait_checked(nodes: Sequence, what: str) -> None:
    wait_for(lambda: checked(nodes) and all(cluster_ok(n) for n in nodes),
             timeout=nodes[0].timeouts.cluster, what=what, interval=0.3)


def share_admin(source, node) -> None:
    """Cluster tools and clients use one login for every node: node takes source's."""
    if node.admin == source.admin:
        return
    with node.client() as c:
        c.conn.acl_setuser(source.admin.user, enabled=True, reset=True,
                           passwords=[f"+{source.admin.password}"], keys=["*"],
                           channels=["*"], commands=["+@all"])
        c.conn.acl_save()
    node.admin = source.admin


def create(nodes: Sequence, replicas: int = 0) -> None:
    """Form a cluster of started, empty nodes (3 masters at least)."""
    if len(nodes) < 3:
        raise EngineError("a Redis cluster needs at least 3 masters")
    for n in nodes:
        if not n.cluster_enabled:
            raise EngineError(f"Redis node {_addr(n)} was not started with cluster-enabled")
        share_admin(nodes[0], n)
    cli(nodes[0], "create", *[_addr(n) for n in nodes], "--cluster-replicas", str(replicas),
        "--cluster-yes")
    _wait_checked(nodes, "Redis cluster to form")


def grow(members: Sequence, new) -> None:
    """Add a started, empty node and move slots (and keys) onto it."""
    share_admin(members[0], new)
    cli(members[0], "add-node", _addr(new), _addr(members[0]))
    everyone = [*members, new]
    # rebalance right after add-node fails until every node agrees
    _wait_checked(everyone, "Redis cluster to accept the new node")
    cli(members[0], "rebalance", _addr(members[0]), "--cluster-use-empty-masters")
    _wait_checked(everyone, "Redis cluster to settle after rebalance")


def shrink(members: Sequence, leaving) -> None:
    """Move every slot off `leaving`, remove it from the cluster and stop it."""
    staying = [n for n in members if n is not leaving]
    if len(staying) < 3:
        raise EngineError("a Redis cluster cannot shrink below 3 masters")
    gone = node_id(leaving)
    cli(staying[0], "rebalance", _addr(staying[0]), "--cluster-weight", f"{gone}=0")
    wait_for(lambda: slots_of(leaving) == 0, timeout=leaving.timeouts.cluster,
             what="Redis cluster to empty the leaving node", interval=0.3)
    cli(staying[0], "del-node", _addr(staying[0]), gone)
    leaving.stop()        # del-node leaves the process running
    _wait_checked(staying, "Redis cluster to settle after removing a node")


def slots_of(node) -> int:
    nid = node_id(node)
    with node.client() as c:
        shards = c.conn.execute_command("CLUSTER SLOTS")
    total = 0
    for start, end, master, *_ in shards:
        if master[2] == nid:
            total += end - start + 1
    return total


def keys_per_node(nodes: Sequence) -> dict[str, int]:
    out = {}
    for n in nodes:
        with n.client() as c:
            out[_addr(n)] = int(c.conn.dbsize())
    return out


def client(nodes: Sequence, timeout: float = 10.0) -> RedisCluster:
    """A cluster-aware redis-py client (follows MOVED/ASK)."""
    first = nodes[0]
    return RedisCluster(startup_nodes=[ClusterNode(n.runtime.address, n.port) for n in nodes],
                        username=first.admin.user, password=first.admin.password,
                        decode_responses=True, socket_timeout=timeout * 6,
                        socket_connect_timeout=timeout, require_full_coverage=True)


def write(nodes: Sequence, items: dict[str, str], prefix: str = "verify:item:") -> None:
    with client(nodes) as c:
        for k, v in items.items():
            c.set(prefix + k, v)


def read(nodes: Sequence, prefix: str = "verify:item:") -> dict[str, str]:
    """Every harness key on every master, read through the cluster client."""
    keys: set[str] = set()
    for n in nodes:
        with n.client() as c:
            keys.update(c.conn.scan_iter(match=prefix + "*", count=1000))
    try:
        with client(nodes) as c:
            return {k[len(prefix):]: c.get(k) for k in sorted(keys)}
    except redis_py.RedisError as exc:
        raise EngineError(f"Redis cluster read failed: {exc}") from None

