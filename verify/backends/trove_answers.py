"""How the harness reads Trove's answers, mixed into TroveBackend through
TroveOps: which refusals are Trove saying a datastore lacks a capability,
which are the deployment's gap (no volumes, no object store), which are
Trove's design (a live replica source is not ejected), and what a 500 hid
(the trove-api log's line for its error id)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from verify.errors import ConfigError, EngineError, NotSupported

NOT_IMPLEMENTED_WORDS = ("not implemented", "notimplemented", "not supported",
                         "is not supported", "unsupported")


def refused_as_not_implemented(code: int | None, message: str) -> bool:
    """Trove's way of saying a datastore lacks a capability: 501, or a 4xx
    whose message says it is not implemented/supported."""
    if code == 501:
        return True
    text = message.lower()
    return bool(code) and 400 <= int(code) < 500 and any(w in text for w in NOT_IMPLEMENTED_WORDS)


def refused_for_lack_of_object_storage(code: int | None, message: str) -> bool:
    """Trove refuses backups, replica seeding and log publishing where the
    deployment has no object store ("Swift is disabled for tenant …")."""
    return bool(code) and 400 <= int(code) < 500 and "swift is disabled" in message.lower()


def refused_for_lack_of_volumes(code: int | None, message: str) -> bool:
    """Trove's VolumeNotSupported ("Volume support is not enabled.", a 4xx or
    501): the deployment runs with trove_volume_support off (a cloud may),
    which says nothing about Trove's datastore code."""
    return bool(code) and (400 <= int(code) < 500 or int(code) == 501) and \
        "volume support is not enabled" in message.lower()


_ERROR_ID = re.compile(r"\(([0-9a-f]{8}-[0-9a-f-]{27})\)")


def api_log_line(message: str, api_log: Path | None) -> str | None:
    """The trove-api log's ERROR line for a 500's error id ("Please keep this
    ID ... (<uuid>)"): what Trove's API hides from its client."""
    found = _ERROR_ID.search(message)
    if not found or api_log is None or not api_log.is_file():
        return None
    with api_log.open(errors="replace") as log:
        for line in log:
            if f"{found.group(1)}: " in line and " ERROR " in line:
                return line.split(f"{found.group(1)}: ", 1)[1].strip()
    return None


def refused_to_eject_a_live_source(code: int | None, message: str) -> bool:
    """Trove ejects only a replica source whose guest stopped reporting
    ("... has a current heartbeat"): refusing a live one is by design."""
    return bool(code) and 400 <= int(code) < 500 and "current heartbeat" in message.lower()


def refused_while_replicas_attached(code: int | None, message: str) -> bool:
    """Trove's 403 "Detach replicas before deleting replica source"."""
    return code == 403 and "detach replicas" in message.lower()


_NO_SUCH_METHOD = re.compile(r"Endpoint does not support RPC method (\w+)")


def agent_lacks(text: str) -> str | None:
    """The guest-agent RPC method Trove called and the datastore's agent
    does not have (oslo.messaging's NoSuchMethod), as a failure quotes it."""
    found = _NO_SUCH_METHOD.search(text)
    return found.group(1) if found else None


def _logged_since(log: Path, offset: int) -> str | None:
    """What a log file got after offset (None: no such file)."""
    try:
        with open(log, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")
    except OSError:
        return None


_RPC_ERROR = re.compile(r"^\S+ \S+ \d+ ERROR oslo_messaging\.rpc\.server (.*)$")
_RAISED = re.compile(r"^[A-Za-z_][\w.]*: ")


def agent_error(log: Path, offset: int) -> str | None:
    """What the guest agent raised in the first RPC method that failed after
    offset: the exception line of oslo.messaging's ERROR record (and
    PostgreSQL's DETAIL line after it), or None. A cast (202) that failed in
    the agent says so nowhere else."""
    text = _logged_since(log, offset)
    if text is None:
        return None
    payload = [m.group(1) for m in map(_RPC_ERROR.match, text.splitlines()) if m]
    for i, line in enumerate(payload):
        if _RAISED.match(line) and not line.startswith("Traceback"):
            detail = payload[i + 1].strip() if i + 1 < len(payload) else ""
            from verify import redact
            return redact.redact((line + (f" ({detail})" if detail.startswith("DETAIL")
                                          else ""))[:400])
    return None


REFUSAL = re.compile(r"(?i)(not allowed|not supported|not implemented|notimplemented)")


def agent_refusal(log: Path, offset: int, action: str) -> str | None:
    """The first line the guest agent wrote after offset that refuses action
    ("Major version upgrade is not allowed: 10.11 -> 11.8"), or None."""
    text = _logged_since(log, offset)
    if text is None:
        return None
    for line in text.splitlines():
        if action.lower() in line.lower() and REFUSAL.search(line):
            from verify import redact
            return redact.redact(line.strip()[-300:])
    return None



class TroveAnswered(EngineError):
    """Trove answered an error no rule above explains; the answer stays
    readable (code, message) for a caller that knows one more case."""

    def __init__(self, text: str, code: int | None, message: str):
        super().__init__(text)
        self.code, self.message = code, message


def answer_of(exc) -> tuple[int | None, str]:
    """(HTTP code, message) of a troveclient error."""
    message = getattr(exc, "message", None) or str(exc)
    return getattr(exc, "http_status", None) or getattr(exc, "code", 0), message


class TroveAnswers:
    """Needs self.provenance and self.box (None off the box)."""

    @contextlib.contextmanager
    def _trove_errors(self, what: str):
        from troveclient import exceptions as tc_exc
        try:
            yield
        except tc_exc.ClientException as exc:
            code, message = answer_of(exc)
            if "flavor" in message.lower() and code in (400, 404, 422):
                raise ConfigError(f"{what}: Trove refused the flavor: {message}",
                                  fix="pick a larger or an existing flavor") from None
            if refused_to_eject_a_live_source(code, message):
                # the scenario ejects a live source, which Trove refuses by design
                raise NotSupported(f"Trove {self.trove_version()} ejects only a replica source "
                                   f"whose guest has stopped reporting, and this one is alive "
                                   f"({code}: {message})") from None
            if refused_for_lack_of_volumes(code, message):
                raise NotSupported(f"needs volumes, which this deployment runs without "
                                   f"(trove_volume_support is off): {what} ({code}: "
                                   f"{message})") from None
            if refused_as_not_implemented(code, message):
                # evidence about Trove, not a harness failure: the scenario
                # skips with this reason and verdicts show it (before the
                # datastore check: "... not supported for this datastore")
                raise NotSupported(f"not implemented by Trove {self.trove_version()}: "
                                   f"{what} ({code}: {message})") from None
            if "datastore" in message.lower() and code in (400, 404):
                raise ConfigError(f"{what}: {message}",
                                  fix="register the datastore version (trove-verify register)"
                                  ) from None
            if refused_for_lack_of_object_storage(code, message):
                # the deployment's gap (the box runs no Swift yet), not Trove's
                # nor the datastore's: the scenario skips saying so
                raise NotSupported(f"needs object storage, which this deployment does not "
                                   f"run: {what} ({code}: {message})") from None
            said = api_log_line(message, self._api_log()) if code == 500 else None
            raise TroveAnswered(f"{what}: Trove answered {code or '?'}: {message}"
                                + (f" (trove-api log: {said})" if said else ""),
                                code, message) from None

    def _api_log(self) -> Path | None:
        """trove-api's log where this machine has it (the box's)."""
        if self.box is None:
            return None
        from verify.box import client as box_client
        return next((p for p in box_client.service_logs(self.box)
                     if p.name == "trove-api.log"), None)

    def trove_version(self) -> str:
        trove = self.provenance.get("trove") or {}
        if trove.get("commit"):
            return f"{trove['commit'][:12]}{' (dirty)' if trove.get('dirty') else ''}"
        return trove.get("version") or f"API v{self.provenance.get('trove_api_version', '?')}"
