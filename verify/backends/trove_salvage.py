"""A failed create's evidence, kept before the instance is deleted.

The box keeps a guest's logs after the guest is gone: the guest agent's and
each datastore container's own output (verify/box/guest.py). They go with
the failure (exc.salvaged_logs, which the scenario copies into the bundle),
and the datastore's own error lines go into the failure's message: Trove's
fault says "Failed to start mysql", the server's log says why.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from verify.backends.base import Instance
from verify.errors import VerifyError

# a server's own error lines: MySQL/MariaDB "[ERROR]", PostgreSQL "FATAL:"/"ERROR:"
ERROR_LINE = re.compile(r"\[ERROR\]|\bFATAL:|\bERROR:")


def datastore_errors(logs: list[Path], limit: int = 3) -> list[str]:
    """The first error lines of the datastore containers' logs."""
    found = []
    for path in logs:
        if "container-" not in path.name:   # (the bundle prefixes the instance id)
            continue
        for line in path.read_text(errors="replace").splitlines():
            if ERROR_LINE.search(line):
                found.append(line.strip())
                if len(found) >= limit:
                    return found
    return found


def salvage(backend, inst: Instance, exc: BaseException) -> None:
    """Collect inst's logs into the run's ledgered scratch dir (no ledger: nothing)."""
    if getattr(backend, "ledger", None) is None:
        return
    dest = Path(tempfile.mkdtemp(prefix="salvage-", dir=backend.ledger.dir))
    backend.ledger.add("dir", str(dest))
    try:
        logs = backend.collect_logs(inst, dest)
    except Exception:   # logs are a courtesy; the failure itself is reported
        return
    exc.salvaged_logs = [*getattr(exc, "salvaged_logs", []), *logs]
    errors = datastore_errors(logs)
    if errors and isinstance(exc, VerifyError):
        first = exc.what.splitlines()[0]
        exc.what += ("\nthe datastore's own log:\n" + "\n".join(errors)
                     + f"\n{first}; the datastore said: {errors[0]}")
        exc.args = (exc.render(),)
