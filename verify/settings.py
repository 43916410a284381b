"""Run-wide settings: directories and timeouts.

Every wait in the harness takes its bound from here, and every bound can be
overridden by an environment variable ``TROVE_VERIFY_TIMEOUT_<NAME>``
(seconds), so gate jobs and tests can shorten or lengthen them.
"""

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

from verify import deadline
from verify.errors import ConfigError


@dataclass(frozen=True)
class Timeouts:
    engine_start: float = 120.0
    engine_stop: float = 60.0
    command: float = 300.0
    replication: float = 60.0
    cluster: float = 300.0
    scenario: float = 900.0
    trove_create: float = 1800.0
    trove_action: float = 1200.0
    image_build: float = 1800.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Timeouts":
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            key = f"TROVE_VERIFY_TIMEOUT_{field.name.upper()}"
            if key in environ:
                try:
                    value = float(environ[key])
                except ValueError:
                    raise ConfigError(f"{environ[key]!r} is not a number of seconds",
                                      where=key) from None
                if value <= 0:
                    raise ConfigError("a timeout must be positive", where=key)
                values[field.name] = value
        return cls(**values)

    def bound(self, name: str, floor: float = 0.0) -> float:
        """The named bound, cut to the time left in the current scenario."""
        return deadline.bound(getattr(self, name), floor)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def results_dir() -> Path:
    return Path(os.environ.get("TROVE_VERIFY_RESULTS", repo_root() / "results"))


def work_dir() -> Path:
    """Where instances keep their data; must be traversable by the service user."""
    default = Path(tempfile.gettempdir()) / "trove-verify"
    return Path(os.environ.get("TROVE_VERIFY_WORKDIR", default))


def state_dir() -> Path:
    return work_dir() / "state"


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trove-verify"
    return Path(os.environ.get("TROVE_VERIFY_CACHE", default))


SERVICE_USER = os.environ.get("TROVE_VERIFY_SERVICE_USER", "trove-verify")
