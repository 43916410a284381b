"""Every secret the harness generates is registered here, and everything it
writes (evidence, logs, reports, terminal) passes through redact()."""

from __future__ import annotations

import os
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "***"
# connection strings with a password (scheme://user:password@host)
_URL_PASSWORD = re.compile(r"(\w+://[^:/\s@]+:)([^@\s]+)(@)")
_SECRET_ENV = re.compile(r"(PASSWORD|SECRET|TOKEN|CREDENTIAL|_KEY)", re.I)


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
    return _URL_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", text)


def redact_bytes(data: bytes) -> bytes:
    return redact(data.decode("utf-8", errors="replace")).encode("utf-8")


def known() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)
