"""Registries named in one table each (backends, guest kinds): name ->
"module:attribute", imported only when a run uses that name."""

from __future__ import annotations

import importlib

from verify.errors import UsageError


def lookup(table: dict[str, str], name: str, *, what: str, fix: str) -> type:
    """The class table names for name; UsageError (saying fix) for a name it lacks."""
    if name not in table:
        raise UsageError(f"unknown {what} {name!r}", fix=fix)
    module, _, attr = table[name].partition(":")
    return getattr(importlib.import_module(module), attr)
