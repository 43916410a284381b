"""The operations capability scenarios ask of an engine, as mixins on Server.

Each default raises NotSupported, so an engine module implements exactly
what its datastore claims and a scenario for anything else is skipped with
the reason instead of passing. Semantics follow Trove's guest agent.

What each scenario module needs from an engine (LocalBackend delegates the
Trove verb to the method named here; verify/engines/mariadb/ is a full
example):

  instance       boot_id, memory_setting_mb + memory_in_effect_mb (resize reads
                 self.memory_mb at start), Server.restart
  users          Client.create_user/list_users/delete_user, change_password,
                 grant_access, revoke_access, list_access
  root           enable_root, root_enabled, disable_root
  configuration  CONFIG_RULES (with `example` values), apply_configuration,
                 remove_configuration, setting
  backup         backup(strategy, dest, parent), restore(backup) on a new server
  replication    REPLICA_SEED, attach_replica, promote, follow, detach,
                 read_only, replication_position
  cluster        cluster_create, cluster_grow, cluster_shrink, cluster_size
  guest_logs     Server.log_files, enable_log
Data checks always go through Client.write_items/read_items.
Which operations each capability requires is the registry's
(verify/catalog/capabilities.py); tests/unit/test_capability_registry.py checks
every engine whose datastore claims it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from verify.engines.base import Credentials
from verify.errors import NotSupported, UsageError


@dataclass
class Backup:
    """A backup artifact on the host, made by a named strategy."""

    strategy: str
    path: Path | None               # directory holding the artifact
    parent: Backup | None = None    # incremental backups chain to a parent
    meta: dict = field(default_factory=dict, repr=False)  # GTID / LSN / credentials
    id: str = ""
    instance_id: str = ""
    datastore: str = ""
    version: str = ""

    def chain(self) -> list[Backup]:
        """Oldest first: the full backup, then each incremental on top of it."""
        out: list[Backup] = []
        node: Backup | None = self
        while node is not None:
            out.insert(0, node)
            node = node.parent
        return out


@dataclass(frozen=True)
class ConfigRule:
    """One parameter as Trove's validation-rules.json describes it."""

    name: str
    type: str                       # integer | string | boolean | float
    dynamic: bool                   # applies without restart
    min: float | None = None
    max: float | None = None
    example: object = None          # a safe, non-default value the scenarios set

    def describe(self) -> str:
        bounds = "".join(f", {k} {v:g}" for k, v in (("min", self.min), ("max", self.max))
                         if v is not None)
        return f"{self.type}{bounds}, {'dynamic' if self.dynamic else 'restart required'}"


class ConfigurationRejected(UsageError):
    """A configuration value breaks its parameter's rule (Trove answers 400)."""


_BOOLEANS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


def validate_value(rule: ConfigRule, value: object) -> object:
    """The value normalised for the engine, or ConfigurationRejected naming
    parameter, value and rule."""
    def reject(why: str) -> ConfigurationRejected:
        return ConfigurationRejected(f"value {value!r} {why} (rule: {rule.describe()})",
                                     where=f"configuration parameter {rule.name}",
                                     fix="change the value to satisfy the rule")
    if rule.type == "boolean":
        key = str(value).lower()
        if isinstance(value, bool) or key in _BOOLEANS:
            return value if isinstance(value, bool) else _BOOLEANS[key]
        raise reject("is not a boolean")
    if rule.type in ("integer", "float"):
        if isinstance(value, bool):
            raise reject(f"is not an {rule.type}")
        try:
            number = int(value) if rule.type == "integer" else float(value)
        except (TypeError, ValueError):
            raise reject(f"is not {'an integer' if rule.type == 'integer' else 'a number'}"
                         ) from None
        if rule.type == "integer" and isinstance(value, float) and value != int(value):
            raise reject("is not an integer")
        if rule.min is not None and number < rule.min:
            raise reject(f"is below the minimum {rule.min:g}")
        if rule.max is not None and number > rule.max:
            raise reject(f"is above the maximum {rule.max:g}")
        return number
    if rule.type == "string":
        if not isinstance(value, str):
            raise reject("is not a string")
        return value
    raise reject(f"has a rule of unknown type {rule.type!r}")


def validate_configuration(rules: dict[str, ConfigRule], values: dict[str, object],
                           engine: str = "") -> dict[str, object]:
    """Every value checked against its rule; unknown parameters refused."""
    if not values:
        raise ConfigurationRejected("a configuration group needs at least one value")
    out = {}
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            raise ConfigurationRejected(
                f"{engine + ' has' if engine else 'there is'} no such parameter",
                where=f"configuration parameter {name}",
                fix=f"use one of: {', '.join(sorted(rules))}")
        out[name] = validate_value(rule, value)
    return out


def apply_values(rules: dict[str, ConfigRule], values: dict[str, object],
                 store: Callable[[str, object], object],
                 set_online: Callable[[str, object], None]) -> bool:
    """Apply a configuration group parameter by parameter, in order: store(name,
    value) keeps it for the next start and returns it as the engine takes it;
    set_online(name, value) applies a dynamic one at once. True when any needs
    a restart to take effect (the caller restarts)."""
    restart = False
    for name, value in values.items():
        value = store(name, value)
        if rules[name].dynamic:
            set_online(name, value)
        else:
            restart = True
    return restart


def remove_values(rules: dict[str, ConfigRule], names: list[str],
                  forget: Callable[[str], bool], set_default: Callable[[str], None]) -> bool:
    """Detach a configuration group parameter by parameter: forget(name) drops
    it from what the next start uses (False: nothing of it to reset);
    set_default(name) resets a dynamic one at once. True when any needs a
    restart to take effect (the caller restarts)."""
    restart = False
    for name in names:
        if not forget(name):
            continue
        if rules[name].dynamic:
            set_default(name)
        else:
            restart = True
    return restart


class ClientGrants:
    """grant_access/revoke_access for engines whose client grants and revokes
    one database at a time (placed before CapabilityOps in the bases)."""

    def grant_access(self, user: str, databases: Sequence[str]) -> None:
        with self.client() as c:
            for db in databases:
                c.grant(user, db)

    def revoke_access(self, user: str, database: str) -> None:
        with self.client() as c:
            c.revoke(user, database)


class CapabilityOps:
    """Mixed into Server. `self` is the engine's server in its runtime."""

    CONFIG_RULES: dict[str, ConfigRule] = {}
    REPLICA_SEED: str | None = None   # backup strategy that seeds a new replica

    def _no(self, what: str):
        raise NotSupported(f"{getattr(self, 'engine', 'this')} engine does not implement "
                           f"{what}")

    # instance ----------------------------------------------------------------
    def memory_in_effect_mb(self) -> int:
        """The engine's main memory setting as the running server reports it."""
        self._no("memory_in_effect_mb")

    def memory_setting_mb(self, memory_mb: int) -> int:
        """What that setting must be for a flavor with memory_mb."""
        self._no("memory_setting_mb")

    def boot_id(self) -> str:
        """A value the server reports that changes on every (re)start."""
        self._no("boot_id")

    # users (beyond create/list/delete, which the Client does) ----------------
    def change_password(self, user: str, password: str) -> None:
        self._no("change_password")

    def grant_access(self, user: str, databases: Sequence[str]) -> None:
        self._no("grant_access")

    def revoke_access(self, user: str, database: str) -> None:
        self._no("revoke_access")

    def list_access(self, user: str) -> list[str]:
        self._no("list_access")

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
        if not self.CONFIG_RULES:
            self._no("configuration groups")
        return dict(self.CONFIG_RULES)

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
        """Called on a NEW, not yet started server: seed its data from backup and
        start it (adopting the backup's service credentials where they travel)."""
        self._no(f"restore from {backup.strategy}")

    # replication -------------------------------------------------------------
    def attach_replica(self, replica: CapabilityOps, strategy: str, backup: Backup) -> None:
        """self is the primary; replica is a started server restored from backup."""
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

    def replication_position(self) -> str:
        """How far this server has applied (compared when ejecting a source)."""
        self._no("replication_position")

    # clusters ----------------------------------------------------------------
    def cluster_create(self, strategy: str, nodes: Sequence[CapabilityOps]) -> None:
        """self is nodes[0]; every node is new and not started: form the cluster."""
        self._no(f"cluster strategy {strategy}")

    def cluster_grow(self, strategy: str, members: Sequence[CapabilityOps],
                     joining: Sequence[CapabilityOps]) -> None:
        self._no(f"growing a {strategy} cluster")

    def cluster_shrink(self, strategy: str, members: Sequence[CapabilityOps],
                       leaving: Sequence[CapabilityOps]) -> None:
        """Remove leaving (stopping them); members are the nodes that stay."""
        self._no(f"shrinking a {strategy} cluster")

    def cluster_size(self) -> int:
        """How many nodes the engine itself sees in its cluster."""
        self._no("cluster_size")

    def cluster_primary(self, members: Sequence[CapabilityOps]) -> CapabilityOps:
        """The member taking writes now, for engines whose cluster has one
        (a MongoDB replica set); the others have no primary to fail over."""
        self._no("a single cluster primary to fail over")

    # guest logs --------------------------------------------------------------
    def enable_log(self, name: str) -> None:
        """Start writing a USER log (general, slow_query) that is off by default."""
        self._no(f"enabling the {name} log")

    # upgrade -----------------------------------------------------------------
    def upgrade_to(self, version: str) -> None:
        """Stop, switch binaries to version, upgrade the data in place, start."""
        self._no(f"upgrade to {version}")
