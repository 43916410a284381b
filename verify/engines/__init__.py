"""One package per engine. Each exposes ENGINE, SERVER (a Server class) and
connect(host, port, credentials, database) returning its Client."""

from __future__ import annotations

import importlib
from types import ModuleType

from verify.errors import ConfigError


def load(module_name: str) -> ModuleType:
    try:
        module = importlib.import_module(f"verify.engines.{module_name}")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no engine package verify/engines/{module_name}/ ({exc.name})"
                          ) from None
    for attr in ("ENGINE", "SERVER", "connect"):
        if not hasattr(module, attr):
            raise ConfigError(f"engine module {module_name} lacks {attr}")
    return module
