"""The mongodb engine (moved from verify/engines/mongodb*.py)."""

from verify.engines.mongodb.server import (
    ENGINE,
    SERVER,
    connect,
    host_unavailable,
    missing_here,
    stand_in,
)

__all__ = ["ENGINE", "SERVER", "connect", "host_unavailable", "missing_here", "stand_in"]
