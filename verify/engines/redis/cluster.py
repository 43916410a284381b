"""Redis Cluster (strategy redis_cluster) with Redis's own tool,
``redis-cli --cluster``: create with 3 masters, grow with add-node + check +
rebalance, shrink with rebalance --cluster-weight <node>=0, del-node, stop.

Nodes are RedisServer objects; the backend hands them over not yet started,
and they start here with cluster-enabled. Every node shares one admin login
(cluster tools and clients use one). The admin's password reaches redis-cli
through REDISCLI_AUTH, never the command line.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis as redis_py
from redis.cluster import ClusterNode, RedisCluster

from verify.engines.base import wait_for
from verify.errors import EngineError, NotSupported

STRATEGY = "redis_cluster"

CLUSTER_SETTINGS = {"cluster-enabled": "yes"}
SLOTS = 16384


def _addr(node) -> str:
    return f"{node.runtime.address}:{node.port}"


def cli(via, *args: str, check: bool = True):
    """redis-cli --cluster ARGS, run in the guest of node `via`. redis-cli
    reports its errors on stdout: a failure quotes its last lines."""
    proc = via.runtime.run(["redis-cli", "--user", via.admin.user, "--no-auth-warning",
                            "--cluster", *args],
                           env={"REDISCLI_AUTH": via.admin.password},
                           timeout=via.timeouts.cluster, check=False)
    if check and proc.returncode != 0:
        said = (proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()
        errors = [line for line in said if "ERR" in line or "***" in line] or said[-3:]
        raise EngineError(f"redis-cli --cluster {args[0]} exited {proc.returncode}: "
                          + " | ".join(errors[-4:]))
    return proc


def cli_until_done(via, *args: str) -> None:
    """Some steps are refused while the nodes still gossip about a change
    (e.g. rebalance right after add-node): retry them, bounded."""
    last: list[str] = []

    def attempt() -> bool:
        try:
            cli(via, *args)
            return True
        except EngineError as exc:
            last[:] = [str(exc)]
            return False
    try:
        wait_for(attempt, timeout=via.timeouts.cluster, what=f"redis-cli --cluster {args[0]}",
                 interval=0.5)
    except EngineError:
        raise EngineError(last[0] if last else f"redis-cli --cluster {args[0]} failed"
                          ) from None


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


def start_node(node, admin=None) -> None:
    """Start a new node in cluster mode (ports port and port+10000 both free)."""
    if not node.running():
        node.settings.update(CLUSTER_SETTINGS)
        node._pick_cluster_port()
        if admin is not None:
            node.admin = admin
        node.start()
    elif not node.cluster_enabled:
        raise EngineError(f"Redis node {_addr(node)} runs without cluster-enabled")


def create(nodes: Sequence, replicas: int = 0) -> None:
    """Form a cluster of new nodes (3 masters at least)."""
    if len(nodes) < 3:
        raise EngineError("a Redis cluster needs at least 3 masters")
    for n in nodes:
        start_node(n, nodes[0].admin)
        share_admin(nodes[0], n)
    cli(nodes[0], "create", *[_addr(n) for n in nodes], "--cluster-replicas", str(replicas),
        "--cluster-yes")
    _wait_checked(nodes, "Redis cluster to form")


def grow(members: Sequence, new) -> None:
    """Add a new, empty node and move slots (and keys) onto it."""
    start_node(new, members[0].admin)
    share_admin(members[0], new)
    cli(members[0], "add-node", _addr(new), _addr(members[0]))
    everyone = [*members, new]
    # rebalance right after add-node fails until every node agrees
    _wait_checked(everyone, "Redis cluster to accept the new node")
    cli_until_done(members[0], "rebalance", _addr(members[0]), "--cluster-use-empty-masters")
    _wait_checked(everyone, "Redis cluster to settle after rebalance")


def shrink(members: Sequence, leaving) -> None:
    """Move every slot off `leaving`, remove it from the cluster and stop it."""
    staying = [n for n in members if n is not leaving]
    if len(staying) < 3:
        raise EngineError("a Redis cluster cannot shrink below 3 masters")
    gone = node_id(leaving)
    cli_until_done(staying[0], "rebalance", _addr(staying[0]), "--cluster-weight", f"{gone}=0")
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



def nodes_seen(node) -> int:
    """Cluster members this node knows and considers healthy."""
    with node.client() as c:
        text = c.conn.execute_command("CLUSTER NODES")
    if isinstance(text, dict):       # redis-py may parse the reply
        return sum(1 for v in text.values()
                   if not {"fail", "noaddr", "handshake"} & set(str(v.get("flags")).split(",")))
    count = 0
    for line in str(text).splitlines():
        fields = line.split()
        if len(fields) > 2 and not {"fail", "noaddr", "handshake"} & set(fields[2].split(",")):
            count += 1
    return count


class RedisClusterOps:
    """Mixed into RedisServer: the backend's cluster verbs."""

    def _check_strategy(self, strategy: str) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"Redis has no cluster strategy {strategy!r}")

    def cluster_create(self, strategy: str, nodes: Sequence) -> None:
        self._check_strategy(strategy)
        create(nodes)

    def cluster_grow(self, strategy: str, members: Sequence, joining: Sequence) -> None:
        self._check_strategy(strategy)
        for new in joining:
            grow(members, new)
            members = [*members, new]

    def cluster_shrink(self, strategy: str, members: Sequence, leaving: Sequence) -> None:
        self._check_strategy(strategy)
        current = [*members, *leaving]
        for node in leaving:
            shrink(current, node)
            current = [n for n in current if n is not node]

    def cluster_size(self) -> int:
        return nodes_seen(self)
