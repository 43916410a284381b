"""An SQLite index of results/, kept in the cache dir, rebuilt from the bundles.

The bundles stay the source of truth: the index only caches each
validated run.json keyed by its path, size and mtime, so reading 10,000
bundles' worth of history costs a stat per bundle instead of a schema
check. Records are cached with marshal (plain data only, no code runs on
load, about 3x faster than JSON). Delete the index file at any time; the
next read rebuilds it. It lives in the cache dir, never in the results dir
it describes: a read-only verb writes nothing where it reads (`classify
--results /etc` leaves /etc alone).

Each cached record carries who signed it (``_signer``) or why no valid
signature covers it (``_sig_problem``); on every load the reader's trusted
keys turn that into ``_uncounted``, the reason a bundle is shown but never
counts (see verify/evidence/signing.py).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
from pathlib import Path

from verify.evidence import signing
from verify.evidence.bundle import RUN_FILE, BundleRejected, load_bundle
from verify.settings import cache_dir

FORMAT = "3"            # bump when the cached form of a record changes
MAX_DEPTH = 3           # results/<id>/, results/imported/<id>/, one more level
# folders under results/ that hold no bundles
NOT_BUNDLES = {"static", "releases"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bundles (
    path TEXT PRIMARY KEY,      -- bundle directory, relative to results/
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    rejected TEXT,              -- why the bundle does not count, or NULL
    record BLOB                 -- the validated run.json, marshalled
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)"""


def _run_files(root: Path, rel: str = "", depth: int = 0):
    """(relative bundle dir, stat) for every run.json below root.

    A directory holding run.json is a bundle and is not descended into
    (its logs/ are not bundles); others are, down to MAX_DEPTH.
    """
    try:
        entries = sorted(os.scandir(os.path.join(root, rel) if rel else root),
                         key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or (not rel and entry.name in NOT_BUNDLES):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        sub = f"{rel}/{entry.name}" if rel else entry.name
        try:
            yield sub, os.stat(os.path.join(entry.path, RUN_FILE))
        except FileNotFoundError:
            if depth + 1 < MAX_DEPTH:
                yield from _run_files(root, sub, depth + 1)


class Index:
    def __init__(self, results_root: Path):
        self.root = Path(results_root)
        key = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:24]
        self.path = cache_dir() / "index" / f"{key}.sqlite"

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        db = sqlite3.connect(self.path, timeout=10)
        db.executescript(_SCHEMA)
        row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if row is None or row[0] != FORMAT:
            with db:
                db.execute("DELETE FROM bundles")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))
        return db

    def _connect(self) -> sqlite3.Connection:
        try:
            return self._open()
        except sqlite3.DatabaseError:
            # a torn or foreign file: the bundles can always rebuild it
            self.path.unlink(missing_ok=True)
            return self._open()

    def load(self) -> tuple[list[dict], list[BundleRejected]]:
        """Every bundle's record (with ``_bundle``: its dir relative to
        results/) and every rejected bundle, refreshing what changed."""
        if not self.root.is_dir():
            return [], []
        db = self._connect()
        try:
            with db:
                return self._refresh(db)
        finally:
            db.close()

    def _refresh(self, db: sqlite3.Connection):
        known = {row[0]: row[1:] for row in db.execute(
            "SELECT path, mtime_ns, size, rejected, record FROM bundles")}
        runs, rejected, seen = [], [], set()
        trust = signing.trusted()
        for rel, st in _run_files(self.root):
            seen.add(rel)
            reason, record = self._cached(known.get(rel), st)
            if reason is None and record is None:
                try:
                    record = signing.check_signature(load_bundle(self.root / rel))
                    blob = marshal.dumps(record)
                except BundleRejected as exc:
                    reason, blob = exc.reason, None
                db.execute("INSERT OR REPLACE INTO bundles VALUES (?, ?, ?, ?, ?)",
                           (rel, st.st_mtime_ns, st.st_size, reason, blob))
            if reason is not None:
                rejected.append(BundleRejected(self.root / rel, reason))
                continue
            record["_bundle"] = rel
            runs.append(signing.mark(record, trust))
        gone = [(p,) for p in known if p not in seen]
        if gone:
            db.executemany("DELETE FROM bundles WHERE path = ?", gone)
        return runs, rejected

    @staticmethod
    def _cached(row, st) -> tuple[str | None, dict | None]:
        """(rejection reason, record) from a row still matching the file;
        (None, None) when the bundle must be read again."""
        if not row or row[0] != st.st_mtime_ns or row[1] != st.st_size:
            return None, None
        if row[2] is not None:
            return row[2], None
        try:
            record = marshal.loads(row[3])
        except (EOFError, ValueError, TypeError):
            return None, None               # a damaged row: read the bundle again
        return (None, record) if isinstance(record, dict) else (None, None)


def load_history(results_root: Path) -> tuple[list[dict], list[BundleRejected]]:
    """All bundles under results_root through the index (the fast path)."""
    try:
        return Index(results_root).load()
    except (sqlite3.Error, OSError):
        # read-only results/ or a locked index: read the bundles directly
        from verify.evidence.bundle import scan
        runs, rejected = scan(results_root)
        for run in runs:
            run.setdefault("_bundle", run["run_id"])
        return runs, rejected
