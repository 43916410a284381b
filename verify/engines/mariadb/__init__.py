"""The mariadb engine (moved from verify/engines/mariadb*.py)."""

from verify.engines.mariadb.server import ENGINE, SERVER, connect

__all__ = ["ENGINE", "SERVER", "connect"]
