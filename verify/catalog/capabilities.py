"""The capabilities a datastore may claim, in one table. The catalog's schema,
the scenario modules (verify/scenarios/<name>.py), the Backend verbs the
scenarios call and the engine operations behind them all derive from it;
tests/unit/test_capability_registry.py fails when one of them disagrees.

Adding a capability (e.g. module apply): a row here, its scenario module,
its verbs on Backend (optional, NotSupported by default) and its operations
on CapabilityOps, then each engine that has it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capability:
    name: str                       # as the catalog claims it; the scenario module's name
    verbs: tuple[str, ...]          # its Backend verbs (Trove API calls)
    operations: tuple[str, ...]     # CapabilityOps an engine implements when it has it
    strategies: bool = False        # the catalog names strategies for it (Trove's drivers)


REGISTRY: tuple[Capability, ...] = (
    Capability("instance",
               ("create_instance", "show_instance", "delete_instance", "restart_instance",
                "resize_instance", "resize_volume", "update_instance"),
               ("boot_id", "memory_setting_mb", "memory_in_effect_mb")),
    Capability("databases", ("create_database", "list_databases", "delete_database"), ()),
    Capability("users",
               ("create_user", "list_users", "delete_user", "change_password", "grant_access",
                "revoke_access", "list_access"),
               ("change_password", "grant_access", "revoke_access", "list_access")),
    Capability("root", ("enable_root", "root_enabled", "disable_root"),
               ("enable_root", "root_enabled", "disable_root")),
    Capability("configuration",
               ("list_configuration_parameters", "create_configuration", "attach_configuration",
                "detach_configuration", "delete_configuration"),
               ("config_rules", "apply_configuration", "remove_configuration", "setting")),
    Capability("backup", ("create_backup", "delete_backup"), ("backup", "restore"),
               strategies=True),
    Capability("replication",
               ("create_replica", "promote_to_replica_source", "eject_replica_source",
                "detach_replica"),
               ("attach_replica", "promote", "follow", "detach", "read_only",
                "replication_position"),
               strategies=True),
    Capability("cluster", ("create_cluster", "grow_cluster", "shrink_cluster", "delete_cluster"),
               ("cluster_create", "cluster_grow", "cluster_shrink", "cluster_size"),
               strategies=True),
    # logs are Server.log_files; enable_log only for USER logs that are off by default
    Capability("guest_logs", ("list_logs", "enable_log", "show_log", "publish_log"), ()),
    Capability("upgrade", ("upgrade_instance",), ("upgrade_to",)),
)

BY_NAME = {c.name: c for c in REGISTRY}
CAPABILITIES = tuple(BY_NAME)
STRATEGY_CAPABILITIES = tuple(c.name for c in REGISTRY if c.strategies)
