"""Bring bundles copied from gate job logs into results/imported/.

Each bundle is validated (schema + digest) before it is copied; a
malformed one, or one holding a symlink, is reported and left out, the
others still come in. Who signed each bundle is said as it comes in; an
unsigned or untrusted one comes in to be shown, and never counts.
Archives are unpacked with tarfile's "data" filter, which refuses
absolute paths, links out of the tree and device files.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from verify.errors import DataError
from verify.evidence import signing
from verify.evidence.bundle import RUN_FILE, BundleRejected, load_bundle

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    rejected: list[BundleRejected] = field(default_factory=list)
    # run_id -> "signed by SHA256:…" or why the bundle will never count
    signed: dict[str, str] = field(default_factory=dict)


def _bundle_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in root.rglob(RUN_FILE) if "logs" not in p.parts[-3:-1])


def _signed(record: dict) -> str:
    signing.mark(signing.check_signature(record), signing.trusted())
    if record.get("_uncounted"):
        return f"{record['_uncounted']}: shown, never counts"
    return f"signed by {record['_signer']}"


def _take(bundle_dir: Path, label: str, dest_root: Path, report: ImportReport) -> None:
    links = [p for p in bundle_dir.rglob("*") if p.is_symlink()]
    if links:    # copying would follow it out of the bundle (a log linked to /etc/shadow)
        report.rejected.append(BundleRejected(Path(label), (
            f"holds a symlink ({links[0].relative_to(bundle_dir)}); refused")))
        return
    try:
        record = load_bundle(bundle_dir)
    except BundleRejected as exc:
        report.rejected.append(BundleRejected(Path(label), exc.reason))
        return
    report.signed[record["run_id"]] = _signed(dict(record))
    target = dest_root / record["run_id"]
    if target.exists():
        try:
            same = load_bundle(target)["digest"] == record["digest"]
        except BundleRejected:
            same = False
        if same:
            report.already.append(record["run_id"])
        else:
            report.rejected.append(BundleRejected(Path(label), (
                f"run_id {record['run_id']} is already imported with other content")))
        return
    tmp = dest_root / f".{record['run_id']}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(bundle_dir, tmp, symlinks=False)
    tmp.rename(target)
    report.imported.append(record["run_id"])


def _label(base: str, root: Path, bundle_dir: Path) -> str:
    rel = bundle_dir.relative_to(root)
    return base if str(rel) == "." else f"{base}:{rel}"


def import_path(path: Path, results_root: Path) -> ImportReport:
    """Import every bundle found in a directory or archive at path."""
    if not path.exists():
        raise DataError("no such file or directory", where=str(path),
                        fix="give a bundle directory or a .tar.gz copied from gate logs")
    dest_root = results_root / "imported"
    dest_root.mkdir(parents=True, exist_ok=True)
    report = ImportReport()
    if path.is_dir():
        dirs = _bundle_dirs(path)
        if not dirs:
            report.rejected.append(BundleRejected(path, "no run.json anywhere below it"))
        for d in dirs:
            _take(d, _label(str(path), path, d), dest_root, report)
        return report
    if not path.name.endswith(ARCHIVE_SUFFIXES):
        raise DataError("not a bundle directory or a .tar.gz/.tgz/.tar archive",
                        where=str(path))
    with tempfile.TemporaryDirectory(dir=results_root, prefix=".import-") as tmp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            report.rejected.append(BundleRejected(path, f"unreadable archive ({exc})"))
            return report
        root = Path(tmp)
        dirs = _bundle_dirs(root)
        if not dirs:
            report.rejected.append(BundleRejected(path, "the archive holds no run.json"))
        for d in dirs:
            _take(d, _label(str(path), root, d), dest_root, report)
    return report
