"""MariaDB Galera clusters (Trove's galera_common): every node its own server
with its own free ports (client, group communication, IST, SST), joiners
filled by rsync SST from a donor. Mixed into MariaDBServer."""

from __future__ import annotations

import contextvars
import secrets
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from verify.engines.base import wait_for
from verify.errors import EngineError, NotSupported

STRATEGY = "galera"
_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()
PROVIDER = "/usr/lib/galera/libgalera_smm.so"


def _join_all(joining: Sequence[GaleraOps], donor: GaleraOps) -> None:
    """Joiners start together: their start-up overlaps, and Galera itself
    queues their state transfers until a donor is free."""
    with ThreadPoolExecutor(max_workers=max(1, len(joining))) as pool:
        # each joiner in a copy of this context: its waits obey the scenario's deadline
        futures = [pool.submit(contextvars.copy_context().run, node._join, donor)
                   for node in joining]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]


class GaleraOps:
    """Needs from MariaDBServer: runtime, timeouts, admin, root_password,
    make_dirs(), write_config(), start(), stop(), query()."""

    galera: dict | None = None

    # hooks MariaDBServer calls -------------------------------------------------
    def _galera_lines(self) -> list[str]:
        g = self.galera
        if not g:
            return []
        addr = self.runtime.address
        peers = ",".join(g["peers"])
        options = (f"gmcast.listen_addr=tcp://{self.runtime.bind_address}:{g['port']};"
                   f"ist.recv_addr={addr}:{g['ist']};gcache.size=32M;"
                   "evs.suspect_timeout=PT5S;evs.inactive_timeout=PT10S")
        return [
            "wsrep_on=ON",
            f"wsrep_provider={PROVIDER}",
            f"wsrep_cluster_name={g['name']}",
            f"wsrep_cluster_address=gcomm://{peers}",
            f"wsrep_node_address={addr}:{g['port']}",
            f"wsrep_node_name=node-{self.port}",
            f'wsrep_provider_options="{options}"',
            "wsrep_sst_method=rsync",
            f"wsrep_sst_receive_address={addr}:{g['sst']}",
            "innodb_autoinc_lock_mode=2",
            "default_storage_engine=InnoDB",
        ]

    def _galera_args(self) -> list[str]:
        if self.galera and self.galera.get("bootstrap"):
            return ["--wsrep-new-cluster"]
        return []

    def _start_timeout(self) -> float:
        # a joiner answers only after its state transfer
        return self.timeouts.cluster if self.galera else self.timeouts.engine_start

    # operations ---------------------------------------------------------------
    def _galera_prepare(self, name: str) -> str:
        ports: set[int] = set()
        with _HANDED_OUT_LOCK:   # never the same port twice among this run's nodes
            while len(ports) < 3:
                port = self.runtime.free_port()
                if port != self.port and port not in _HANDED_OUT:
                    ports.add(port)
            _HANDED_OUT.update(ports)
        port, ist, sst = sorted(ports)
        self.galera = {"name": name, "port": port, "ist": ist, "sst": sst, "peers": []}
        return f"{self.runtime.address}:{port}"

    def _join(self, donor) -> None:
        """Start as a joiner: no data of its own, everything comes by SST."""
        self.admin, self.root_password = donor.admin, donor.root_password
        self.make_dirs()
        self._initialised = True
        self.start()
        wait_for(self._synced, timeout=self.timeouts.cluster,
                 what=f"galera node on port {self.port} synced", alive=self.running)

    def _synced(self) -> bool:
        rows = dict(self.query("SHOW STATUS WHERE Variable_name IN "
                               "('wsrep_ready', 'wsrep_local_state_comment')"))
        return rows.get("wsrep_ready") == "ON" and \
            rows.get("wsrep_local_state_comment") == "Synced"

    def _set_peers(self, nodes: Sequence[GaleraOps]) -> None:
        peers = [f"{n.runtime.address}:{n.galera['port']}" for n in nodes]
        for node in nodes:
            node.galera["peers"] = peers
            if node.process is not None:
                node.write_config()   # read again at the node's next (re)join

    def cluster_create(self, strategy: str, nodes: Sequence[GaleraOps]) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"MariaDB has no cluster strategy {strategy!r}")
        if nodes[0] is not self:
            raise EngineError("cluster_create is called on the first node")
        name = f"verify-{secrets.token_hex(4)}"
        for node in nodes:
            node._galera_prepare(name)
        self._set_peers(nodes)
        self.galera["bootstrap"] = True
        try:
            self.start()
        finally:
            self.galera["bootstrap"] = False
        wait_for(self._synced, timeout=self.timeouts.cluster, what="galera bootstrap node",
                 alive=self.running)
        _join_all(nodes[1:], self)

    def cluster_grow(self, strategy: str, members: Sequence[GaleraOps],
                     joining: Sequence[GaleraOps]) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"MariaDB has no cluster strategy {strategy!r}")
        for node in joining:
            node._galera_prepare(self.galera["name"])
        self._set_peers([*members, *joining])
        _join_all(joining, self)

    def cluster_shrink(self, strategy: str, members: Sequence[GaleraOps],
                       leaving: Sequence[GaleraOps]) -> None:
        if strategy != STRATEGY:
            raise NotSupported(f"MariaDB has no cluster strategy {strategy!r}")
        for node in leaving:
            node.stop()   # a clean shutdown leaves the group at once
        # a stopped node stays in wsrep_cluster_address unless removed
        self._set_peers(members)

    def cluster_size(self) -> int:
        rows = self.query("SHOW STATUS LIKE 'wsrep_cluster_size'")
        return int(rows[0][1]) if rows else 0
