"""The operations capability scenarios ask of an engine, as mixins on Server.

Each default raises NotSupported, so an engine module implements exactly
what its datastore claims and a scenario for anything else is skipped with
the reason instead of passing. Semantics follow Trove's guest agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from verify.engines.base import Credentials
from verify.errors import NotSupported


@dataclass
class Backup:
    """A backup artifact on the host, made by a named strategy."""

    strategy: str
    path: Path                      # directory holding the artifact
    parent: Backup | None = None    # incremental backups chain to a parent
    meta: dict = field(default_factory=dict)   # e.g. GTID / LSN / binlog position


@dataclass(frozen=True)
class ConfigRule:
    """One parameter as Trove's validation-rules.json describes it."""

    name: str
    type: str                       # integer | string | boolean | float
    dynamic: bool                   # applies without restart
    min: float | None = None
    max: float | None = None


class CapabilityOps:
    """Mixed into Server. `self` is the engine's server in its runtime."""

    def _no(self, what: str):
        raise NotSupported(f"{self.engine} engine does not implement {what}")

    # instance ----------------------------------------------------------------
    def memory_in_effect_mb(self) -> int:
        """The engine's main memory setting as the running server reports it."""
        self._no("memory_in_effect_mb")

    # root --------------------------------------------------------------------
    def enable_root(self) -> Credentials:
        """Create/enable a remotely usable superuser; return its credentials."""
        self._no("enable_root")

    def root_enabled(self) -> bool:
        self._no("root_enabled")

    def disable_root(self) -> None:
        self._no("disable_root")

    # configuration groups ----------------------------------------------------
    def config_rules(self) -> dict[str, ConfigRule]:
        self._no("config_rules")

    def apply_configuration(self, values: dict[str, object]) -> bool:
        """Apply validated values; return True when a restart was needed (and done)."""
        self._no("apply_configuration")

    def remove_configuration(self, names: list[str]) -> bool:
        """Detach: back to defaults; return True when a restart was needed."""
        self._no("remove_configuration")

    def setting(self, name: str) -> str:
        """A setting's current value as the server reports it."""
        self._no("setting")

    # backup and restore ------------------------------------------------------
    def backup(self, strategy: str, dest: Path, parent: Backup | None = None) -> Backup:
        self._no(f"backup strategy {strategy}")

    def restore(self, backup: Backup) -> None:
        """Called on a NEW, not yet started server: seed its data from backup."""
        self._no(f"restore from {backup.strategy}")

    # replication -------------------------------------------------------------
    def attach_replica(self, replica: CapabilityOps, strategy: str, backup: Backup) -> None:
        """self is the primary; replica is a new server seeded from backup."""
        self._no(f"replication strategy {strategy}")

    def promote(self) -> None:
        """Become a writable primary (replica side)."""
        self._no("promote")

    def follow(self, primary: CapabilityOps, strategy: str) -> None:
        """Become a replica of primary (an old primary rejoining)."""
        self._no("follow")

    def detach(self) -> None:
        """Stop replicating and become a standalone writable server."""
        self._no("detach")

    def read_only(self) -> bool:
        self._no("read_only")

    def replication_caught_up(self, primary: CapabilityOps) -> bool:
        self._no("replication_caught_up")

    # upgrade -----------------------------------------------------------------
    def upgrade_to(self, version: str) -> None:
        """Stop, switch binaries to version, upgrade the data in place, start."""
        self._no(f"upgrade to {version}")
