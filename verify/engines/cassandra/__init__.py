"""Apache Cassandra from its release tarball (snapshots, rings)."""

from verify.engines import Engine
from verify.engines.cassandra.client import connect
from verify.engines.cassandra.server import CassandraServer, missing_here

ENGINE = Engine(name="cassandra", server=CassandraServer, connect=connect,
                identities=("cassandra",),
                # a 256 MB heap plus direct memory, code cache and metaspace: measured
                # OOM-killed in a 256 MB memory cgroup, at home in 512 MB
                min_memory_mb=512,
                # cluster members repair system_auth before the ring changes; a repair's
                # merkle trees and streams took a 512 MB member past its memory cgroup
                # (OOM-killed at 440 MB anon RSS in CI), so cluster members get 1 GB
                cluster_flavor="medium", missing_here=missing_here)

__all__ = ["ENGINE"]
