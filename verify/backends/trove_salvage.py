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

from verify import redact
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


def failure_text(backend, inst: Instance, record: dict, what: str,
                 since: float | None = None) -> str:
    """An instance gone ERROR during `what`: Trove's fault, then the guest's
    log (through Trove, else the box's copy of the guest agent's log); its
    last line repeats the fault, since a run prints a failure's last line.
    Where Trove recorded no fault (an eject's error stays in the task
    manager) the box's task manager errors logged since `since` are said."""
    fault = record.get("fault") or {}
    text = (f"Trove instance {inst.id} went {record.get('status')} during {what}: "
            f"{fault.get('message', 'no fault recorded')}")
    if not fault.get("message") and backend.box is not None and since is not None:
        from verify.box import client as box_client
        said = [line for log in box_client.service_logs(backend.box)
                if log.name == "trove-taskmanager.log" for line in errors_since(log, since)]
        if said:
            text += f"; meanwhile the task manager logged: {' | '.join(said[:3])}"
    if fault.get("details"):
        text += f"\nfault details:\n{fault['details']}"
    guest_log = backend.guest_log(inst, "guest", lines=100)
    if guest_log:
        text += f"\nguest log (last lines):\n{guest_log}"
    elif backend.box is not None:
        from verify.box import client as box_client
        for path in box_client.instance_logs(backend.box, inst.id):
            if path.name == "trove-guestagent.log":
                tail = path.read_text(errors="replace").splitlines()[-60:]
                text += (f"\nguest agent log {path} (last lines):\n"
                         + redact.redact("\n".join(tail)))
    inst.extra["fault"] = fault
    return text + (f"\n{text.splitlines()[0]}" if "\n" in text else "")


_LOGGED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d+ \d+ ERROR \S+ \[[^]]*\] (.+)$")


def errors_since(log: Path, since: float, limit: int = 5) -> list[str]:
    """The first lines of the ERROR records an oslo.log file has from
    `since` (epoch seconds) on, in the order written."""
    import time
    cutoff = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
    found: list[str] = []
    with log.open(errors="replace") as fh:
        for line in fh:
            m = _LOGGED.match(line.rstrip("\n"))
            if m and m.group(1) >= cutoff and m.group(2) not in found:
                found.append(redact.redact(m.group(2)[:300]))
                if len(found) >= limit:
                    break
    return found
