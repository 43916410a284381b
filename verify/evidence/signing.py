"""Signed evidence: a bundle counts only when a key its reader trusts signed it.

The digest alone is an unkeyed hash that anyone can recompute after editing
a bundle. Each run.json therefore carries an Ed25519 signature by the key of
whoever produced it (as RefStack signs uploaded results):

- a local run signs with this machine's key, made on first use, 0600, at
  <cache>/signing-key.pem (the cache dir: a reader never writes elsewhere);
- a gate job signs with its own key: TROVE_VERIFY_SIGNING_KEY names the
  PEM file (the job's secret);
- a reader trusts its own key plus the public keys listed, one per line as
  ``ed25519 <base64> [comment]``, in TROVE_VERIFY_TRUSTED_KEYS or
  /etc/trove-verify/trusted-keys or <cache>/trusted-keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from verify.errors import ConfigError
from verify.settings import cache_dir

ALG = "ed25519"
ETC = Path("/etc/trove-verify")


def canonical(record: dict) -> bytes:
    """What is signed: the record without its digest and signature."""
    body = {k: v for k, v in record.items() if k not in ("digest", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def fingerprint(public_raw: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(public_raw).digest()).decode().rstrip("=")


def key_path() -> Path:
    explicit = os.environ.get("TROVE_VERIFY_SIGNING_KEY")
    if explicit:
        return Path(explicit)
    return cache_dir() / "signing-key.pem"


def _public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


_KEYS: dict[str, Ed25519PrivateKey] = {}


def signing_key() -> Ed25519PrivateKey:
    """The producer's key, made 0600 on first use (never replaced once made)."""
    path = key_path()
    cached = _KEYS.get(str(path))
    if cached is not None:
        return cached
    if not path.exists():
        try:
            _make_key(path)
        except OSError as exc:
            raise ConfigError(f"cannot make this machine's signing key ({exc.strerror})",
                              where=str(path),
                              fix="set TROVE_VERIFY_CACHE (or TROVE_VERIFY_SIGNING_KEY) to a "
                                  "writable place") from None
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"the signing key is unreadable ({exc})", where=str(path),
                          fix="point TROVE_VERIFY_SIGNING_KEY at an Ed25519 PEM key, or "
                              "remove the file to make a new one") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("the signing key is not an Ed25519 key", where=str(path),
                          fix="generate one: openssl genpkey -algorithm ed25519")
    if path.stat().st_mode & 0o077:
        raise ConfigError("the signing key is readable by others", where=str(path),
                          fix=f"chmod 600 {path}")
    _KEYS[str(path)] = key
    return key


def _make_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)    # never overwrites: two first runs agree on one key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def public_line(comment: str = "") -> str:
    """This producer's public key as a trusted-keys line."""
    raw = _public_raw(signing_key())
    return f"{ALG} {base64.b64encode(raw).decode()} {comment}".strip()


def sign(record: dict) -> dict:
    key = signing_key()
    raw = _public_raw(key)
    return {"alg": ALG, "public_key": base64.b64encode(raw).decode(),
            "fingerprint": fingerprint(raw),
            "value": base64.b64encode(key.sign(canonical(record))).decode()}


def signer(record: dict) -> tuple[str | None, str | None]:
    """(fingerprint of a valid signature, None) or (None, why it is not one)."""
    sig = record.get("signature")
    if not isinstance(sig, dict):
        return None, "unsigned (no signature by a producer's key)"
    try:
        if sig.get("alg") != ALG:
            return None, f"signed with an unsupported algorithm {sig.get('alg')!r}"
        raw = base64.b64decode(sig["public_key"], validate=True)
        Ed25519PublicKey.from_public_bytes(raw).verify(
            base64.b64decode(sig["value"], validate=True), canonical(record))
    except InvalidSignature:
        return None, "bad signature (edited after signing)"
    except (KeyError, TypeError, ValueError) as exc:
        return None, f"malformed signature ({exc})"
    return fingerprint(raw), None


def _trust_file() -> Path:
    explicit = os.environ.get("TROVE_VERIFY_TRUSTED_KEYS")
    if explicit:
        return Path(explicit)
    return ETC / "trusted-keys" if (ETC / "trusted-keys").exists() \
        else cache_dir() / "trusted-keys"


def trusted() -> set[str]:
    """Fingerprints of keys whose bundles count here: ours and those listed.
    Only reads: a reader that never produced a bundle has no key to trust."""
    found = set()
    if key_path().exists():
        try:
            found.add(fingerprint(_public_raw(signing_key())))
        except (ConfigError, OSError):
            pass          # unusable key: it signs nothing either; the list still counts
    try:
        lines = _trust_file().read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == ALG:
            try:
                found.add(fingerprint(base64.b64decode(parts[1], validate=True)))
            except ValueError:
                continue
    return found


def mark(record: dict, trust: set[str]) -> dict:
    """Set ``_uncounted`` (why the bundle never counts) from the cached
    ``_signer`` / ``_sig_problem`` that check_signature() left on the record."""
    who, problem = record.get("_signer"), record.get("_sig_problem")
    if problem:
        record["_uncounted"] = problem
    elif who not in trust:
        record["_uncounted"] = (f"signed by {who}, a key not trusted here (add its public "
                                "key to the trusted keys to count it)")
    else:
        record.pop("_uncounted", None)
    return record


def check_signature(record: dict) -> dict:
    """Record who signed (``_signer``) or why no one validly did (``_sig_problem``)."""
    record["_signer"], record["_sig_problem"] = signer(record)
    return record
