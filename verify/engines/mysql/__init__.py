"""The mysql engine (moved from verify/engines/mysql*.py)."""

from verify.engines.mysql.server import ENGINE, SERVER, connect, host_unavailable

__all__ = ["ENGINE", "SERVER", "connect", "host_unavailable"]
