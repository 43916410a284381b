"""`inspect trove==VERSION`: Trove's sdist from the package index, unpacked
into the cache dir (outside the repository) and reused from there."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from verify.errors import CannotRunHere, DataError, UsageError

SPEC = re.compile(r"^trove==(?P<version>[0-9][0-9A-Za-z.+-]*)$")
DOWNLOAD_TIMEOUT_S = 300


def parse(spec: str) -> str | None:
    """The version in "trove==13.0.1", or None when spec is not of that form."""
    m = SPEC.match(spec)
    if m:
        return m.group("version")
    if spec.startswith("trove=") or spec.startswith("trove>") or spec.startswith("trove<"):
        raise UsageError(f"cannot read {spec!r} as one Trove release",
                         fix="give an exact version: trove==13.0.1")
    return None


def tree(version: str, cache: Path | None = None) -> Path:
    """The unpacked sdist of trove==version, downloaded once into the cache."""
    from verify.settings import cache_dir

    base = (cache or cache_dir()) / "trove-src"
    dest = base / f"trove-{version}"
    if (dest / "trove").is_dir():
        return dest
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--no-binary", ":all:", f"trove=={version}", "-d", tmp]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=DOWNLOAD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise CannotRunHere(f"pip download trove=={version} took over "
                             f"{DOWNLOAD_TIMEOUT_S} s", fix="check the package index "
                             "is reachable, or inspect an unpacked tree") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataError(f"pip could not download trove=={version}: {last}",
                            fix="check the version exists (pip index versions trove)")
        sdists = sorted(Path(tmp).glob("trove-*.tar.gz"))
        if not sdists:
            raise DataError(f"pip gave no sdist for trove=={version}", where=tmp)
        unpack = Path(tmp) / "unpacked"
        with tarfile.open(sdists[0]) as tar:
            tar.extractall(unpack, filter="data")
        tops = [p for p in unpack.iterdir() if (p / "trove").is_dir()]
        if not tops:
            raise DataError(f"the sdist of trove=={version} holds no trove/ package",
                            where=str(sdists[0]))
        partial = base / f"trove-{version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        tops[0].rename(partial)
        partial.rename(dest)
    return dest
