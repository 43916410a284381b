"""Backends behind one interface named after the Trove API's verbs.

Backends are a registry (as Molecule's drivers): BACKENDS names each one's
class, a verify.backends.base.Backend, in this one place; `run --backend`
takes its choices from it, and the runner builds the chosen one with its
from_run(). A new backend (a Trove deployment of another shape) is one
module plus one line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verify.registry import lookup

if TYPE_CHECKING:
    from verify.backends.base import Backend

# name -> "module:class"; imported only when a run uses it
BACKENDS = {
    "local": "verify.backends.local:LocalBackend",
    "trove": "verify.backends.trove:TroveBackend",
}
NAMES = tuple(BACKENDS)


def backend_class(name: str) -> type[Backend]:
    return lookup(BACKENDS, name, what="backend", fix=f"use --backend {'|'.join(NAMES)}")


def make(name: str, options, *, catalog, ledger, timeouts) -> Backend:
    """The backend a run's options (verify.runner.RunOptions) name."""
    return backend_class(name).from_run(options, catalog=catalog, ledger=ledger,
                                        timeouts=timeouts)
