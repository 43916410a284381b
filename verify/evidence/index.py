"""An SQLite index beside results/, rebuilt from the bundles.

The bundles stay the source of truth: the index only caches each
validated run.json keyed by its path, size and mtime, so reading 10,000
bundles' worth of history costs a stat per bundle instead of a schema
check. Delete the index file at any time; the next read rebuilds it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from verify.evidence.bundle import RUN_FILE, BundleRejected, load_bundle

INDEX_FILE = ".index.sqlite"
# folders under results/ that hold no bundles
NOT_BUNDLES = {"static", "releases"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bundles (
    path TEXT PRIMARY KEY,      -- bundle directory, relative to results/
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    rejected TEXT,              -- why the bundle does not count, or NULL
    record TEXT                 -- the validated run.json
)"""


def _run_files(root: Path):
    """(relative bundle dir, stat) for every run.json below root."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (rel == "." and d in NOT_BUNDLES)
                             and d != "logs")
        if RUN_FILE in filenames:
            yield rel, os.stat(os.path.join(dirpath, RUN_FILE))


class Index:
    def __init__(self, results_root: Path):
        self.root = Path(results_root)
        self.path = self.root / INDEX_FILE

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=10)
            db.execute(_SCHEMA)
            return db
        except sqlite3.DatabaseError:
            # a torn or foreign file: the bundles can always rebuild it
            self.path.unlink(missing_ok=True)
            db = sqlite3.connect(self.path, timeout=10)
            db.execute(_SCHEMA)
            return db

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
        for rel, st in _run_files(self.root):
            seen.add(rel)
            row = known.get(rel)
            if row and row[0] == st.st_mtime_ns and row[1] == st.st_size:
                reason, text = row[2], row[3]
            else:
                try:
                    record = load_bundle(self.root / rel)
                    reason, text = None, json.dumps(record, separators=(",", ":"))
                except BundleRejected as exc:
                    reason, text = exc.reason, None
                db.execute("INSERT OR REPLACE INTO bundles VALUES (?, ?, ?, ?, ?)",
                           (rel, st.st_mtime_ns, st.st_size, reason, text))
            if reason is not None:
                rejected.append(BundleRejected(self.root / rel, reason))
                continue
            record = json.loads(text)
            record["_bundle"] = rel
            runs.append(record)
        gone = [(p,) for p in known if p not in seen]
        if gone:
            db.executemany("DELETE FROM bundles WHERE path = ?", gone)
        return runs, rejected


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
