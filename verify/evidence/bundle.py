"""Writing and reading one run's bundle."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path

import jsonschema

from verify.evidence import signing
from verify.evidence.schema import RUN_SCHEMA
from verify.redact import redact, redact_bytes

RUN_FILE = "run.json"
# built once: building a validator per bundle doubled the cost of a cold read
_VALIDATOR = jsonschema.Draft202012Validator(RUN_SCHEMA)


class BundleRejected(Exception):
    def __init__(self, path: Path, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path}: {reason}")


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def new_run_id(datastore: str) -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{datastore}-{secrets.token_hex(3)}"


def digest(record: dict) -> str:
    body = {k: v for k, v in record.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """temp file in the same directory + fsync + rename + fsync(dir)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Bundle:
    def __init__(self, root: Path, record: dict):
        self.root = root
        self.record = record

    @classmethod
    def start(cls, results_root: Path, record: dict) -> Bundle:
        """Create the bundle and mark it incomplete until finish() says otherwise."""
        results_root.mkdir(parents=True, exist_ok=True)
        root = results_root / record["run_id"]
        root.mkdir()
        (root / "logs").mkdir()
        base = {"started": now(), "finished": None, "status": "incomplete",
                "engine": None, "image": None, "scenarios": [], "not_claimed": [],
                "static": {}}
        bundle = cls(root, {**base, **record})
        bundle.save()
        return bundle

    def save(self) -> None:
        self.record["digest"] = digest(self.record)
        text = redact(json.dumps(self.record, indent=2, sort_keys=True))
        # redaction may change the text; the signature and digest cover what is on disk
        record = json.loads(text)
        record.pop("signature", None)
        record["signature"] = signing.sign(record)
        record["digest"] = digest(record)
        atomic_write(self.root / RUN_FILE, json.dumps(record, indent=2,
                                                      sort_keys=True).encode())

    def add_log(self, src: Path, name: str) -> str:
        rel = Path("logs") / name
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, redact_bytes(src.read_bytes()))
        return str(rel)

    def write_file(self, rel: str, data: bytes) -> None:
        """A text file (UTF-8), redacted as text."""
        atomic_write(self.root / rel, redact_bytes(data))

    def write_subunit(self, data: bytes, rel: str = "subunit.stream") -> None:
        """A subunit v2 stream already redacted as it was encoded
        (verify.evidence.stream.RedactingStreamResult): written byte for byte,
        since redacting encoded packets would break their lengths and CRCs."""
        atomic_write(self.root / rel, data)

    def finish(self, status: str, **fields) -> None:
        self.record.update(fields, status=status, finished=now())
        self.save()

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def load_bundle(path: Path) -> dict:
    """A validated run record, or BundleRejected naming what is wrong."""
    run_file = path / RUN_FILE
    if path.is_symlink():
        raise BundleRejected(path, "the bundle is a symlink (refused: it may point out of "
                                   "results/)")
    try:
        # O_NOFOLLOW: a run.json linked to a bundle elsewhere is not this bundle
        fd = os.open(run_file, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, encoding="utf-8") as fh:
            record = json.loads(fh.read())
    except FileNotFoundError:
        raise BundleRejected(path, "no run.json") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BundleRejected(path, "run.json is a symlink (refused: it may point out "
                                       "of results/)") from None
        raise BundleRejected(path, f"run.json is not readable ({exc})") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleRejected(path, f"run.json is not readable JSON ({exc})") from None
    if not isinstance(record, dict):
        raise BundleRejected(path, "run.json is not an object")
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(record))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "top level"
        raise BundleRejected(path, f"run.json field {where}: {error.message}")
    if record["digest"] != digest(record):
        raise BundleRejected(path, "run.json does not match its digest (edited or torn)")
    return record


def scan(results_root: Path) -> tuple[list[dict], list[BundleRejected]]:
    """Every bundle under results_root: (valid records, rejected bundles)."""
    valid, rejected = [], []
    if not results_root.is_dir():
        return valid, rejected
    trust = signing.trusted()
    top = results_root.resolve()
    for run_file in sorted(results_root.glob(f"**/{RUN_FILE}")):
        try:
            if not run_file.resolve().is_relative_to(top):
                raise BundleRejected(run_file.parent, "a symlink out of results/ (refused)")
            record = signing.check_signature(load_bundle(run_file.parent))
            valid.append(signing.mark(record, trust))
        except BundleRejected as exc:
            rejected.append(exc)
    return valid, rejected
