"""The redis engine (moved from verify/engines/redis*.py)."""

from verify.engines.redis.server import ENGINE, SERVER, connect

__all__ = ["ENGINE", "SERVER", "connect"]
