"""The cassandra engine (moved from verify/engines/cassandra*.py)."""

from verify.engines.cassandra.server import ENGINE, SERVER, connect, missing_here

__all__ = ["ENGINE", "SERVER", "connect", "missing_here"]
