"""The postgresql engine (moved from verify/engines/postgresql*.py)."""

from verify.engines.postgresql.server import ENGINE, SERVER, connect

__all__ = ["ENGINE", "SERVER", "connect"]
