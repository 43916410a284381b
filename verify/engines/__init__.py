"""One package per engine: verify/engines/<name>/ exposes ENGINE, an ``Engine``
describing it; inside, server.py, client.py and one module per capability
family the datastore needs. mysql_family/ holds code MariaDB and MySQL share."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from verify.errors import ConfigError

if TYPE_CHECKING:
    from verify.engines.base import Client, Server


@dataclass(frozen=True)
class Engine:
    """What the rest of the harness may know of one engine."""

    name: str
    server: type[Server]
    connect: Callable[..., Client]      # (host, port, credentials, database)
    # what its genuine servers report (Identity.name): the catalog's `engines`
    identities: tuple[str, ...]
    min_memory_mb: int = 0              # smaller flavors are refused, as Trove does
    cluster_flavor: str = "small"       # the flavor a cluster member needs
    # why this host cannot launch it at all / this version, when it knows better
    # than the guest (a binary the user points at, a wheel not installed)
    host_unavailable: Callable[[], str | None] | None = None
    missing_here: Callable[[str | None], str | None] | None = None
    stand_in: Callable[[], str | None] | None = None   # the stand-in it launches, if any

    @property
    def default_port(self) -> int:
        """Where the datastore listens in its guest (Trove's port)."""
        return self.server.default_port

    @property
    def operations(self) -> frozenset[str]:
        """The capability operations its server implements (the others raise
        NotSupported, so their scenarios are skipped with the reason)."""
        from verify.engines.capabilities import CapabilityOps

        ops = {name for name, default in vars(CapabilityOps).items()
               if callable(default) and not name.startswith("_")
               and getattr(self.server, name) is not default}
        if self.server.CONFIG_RULES:
            ops.add("config_rules")
        return frozenset(ops)


def load(name: str) -> Engine:
    """The engine verify/engines/<name>/ describes."""
    try:
        module = importlib.import_module(f"verify.engines.{name}")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no engine package verify/engines/{name}/ ({exc.name})") from None
    engine = getattr(module, "ENGINE", None)
    if not isinstance(engine, Engine):
        raise ConfigError(f"engine package verify/engines/{name}/ exposes no ENGINE "
                          "(a verify.engines.Engine)")
    return engine
