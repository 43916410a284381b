"""Every secret the harness generates is registered here, and everything it
writes (evidence, logs, reports, terminal) passes through redact()."""

from __future__ import annotations

import os
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "***"
# connection strings with a password (scheme://user:password@host); every
# part bounded and possessive (no backtracking: the next character decides)
# so a multi-megabyte log line cannot make the match quadratic
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31}+://[^:/\s@]{0,256}+:)([^@\s]{1,512}+)(@)")
_SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|CREDENTIAL|_KEY)", re.I)
_SECRET_ITEM_HINT = re.compile(r"(PASSWORD|SECRET)['\"]\s*:", re.I)
_SECRET_ITEM = re.compile(r"(['\"][A-Za-z0-9_]{0,64}(?:PASSWORD|SECRET)['\"]\s*:\s*['\"])"
                          r"([^'\"\s]{1,512})(['\"])", re.I)


def register(secret: str) -> str:
    if secret and len(secret) >= 6:
        with _lock:
            _secrets.add(secret)
    return secret


def register_environment(environ: dict[str, str] | None = None) -> None:
    """Treat secret-looking environment values (OS_PASSWORD, tokens...) as secrets."""
    for key, value in (os.environ if environ is None else environ).items():
        if _SECRET_ENV.search(key):
            register(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    if _SECRET_ITEM_HINT.search(text):
        # a secret logged as a mapping item: Trove's guest agent logs the
        # container environment ({'MYSQL_ROOT_PASSWORD': '…'}) in clear
        text = _SECRET_ITEM.sub(rf"\g<1>{MASK}\g<3>", text)
    if "@" not in text or "://" not in text:
        return text
    # URLs never span lines: only lines that could hold one pay for the regex
    return "".join(_URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", line)
                   if "@" in line and "://" in line else line
                   for line in text.splitlines(keepends=True))


def redact_bytes(data: bytes) -> bytes:
    return redact(data.decode("utf-8", errors="replace")).encode("utf-8")


def known() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


class RedactingStream:
    """Wraps stdout/stderr so nothing reaches the terminal unredacted.

    Buffers to whole lines so a secret split across write() calls (print
    writes text and newline separately) is still seen whole.
    """

    def __init__(self, stream):
        self._stream = stream
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._pending += text
            head, sep, tail = self._pending.rpartition("\n")
            if sep:
                self._stream.write(redact(head + sep))
                self._pending = tail
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._stream.write(redact(self._pending))
                self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
