"""Run disk-image-create for an ImageSpec: progress, failure kinds, manifest.

A failed build is one of two things and says which: the OS archive changed
under it (a package or version vanished, a hash mismatched: outside churn, as
broke Trove's own image jobs) or the harness/elements failed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from verify.errors import EXIT_UNAVAILABLE, CannotRunHere, VerifyError, WaitTimeout
from verify.images import Image, ImageSpec, cached, dib_version, elements_dir, installed_packages
from verify.images import mirror as mirror_mod
from verify.settings import Timeouts, work_dir
from verify.state import Ledger, cleanup_stale

PHASE = re.compile(r"(?:Running hooks from \S*/hooks/|dib-run-parts Target: )([a-z-]+\.d)")
# apt/debootstrap lines meaning the archive no longer serves what was asked.
ARCHIVE_CHANGED = re.compile(
    r"(Unable to locate package .*|has no installation candidate.*|Hash Sum mismatch.*"
    r"|Version '.*' for '.*' was not found|held broken packages.*"
    r"|Depends: .* but it is not (?:going to be installed|installable).*"
    r"|Failed to fetch .*40[34].*|does not have a Release file.*|is not valid yet.*"
    r"|Release file .* is expired.*|Couldn't download packages.*)")
UNREACHABLE = re.compile(r"(Temporary failure resolving .*|Could not resolve .*"
                         r"|Failed to fetch .*(?:Connection|timed out| 400 | 50\d ).*"
                         r"|Failed getting release file .*)")


class ArchiveChanged(VerifyError):
    """The OS archive changed under the build; not a harness failure."""

    exit_code = EXIT_UNAVAILABLE


class ImageBuildFailed(VerifyError):
    """disk-image-create failed for a reason inside the harness or elements."""


def _tool_path() -> str:
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")])


def preflight(spec: ImageSpec) -> str:
    """Path of disk-image-create, or CannotRunHere naming what is missing."""
    path = _tool_path()
    dib = shutil.which("disk-image-create", path=path)
    if dib is None:
        raise CannotRunHere("cannot build here: disk-image-create is not installed",
                            fix="run tools/setup.sh (installs diskimage-builder)")
    for tool in ("sudo", "debootstrap"):
        if shutil.which(tool, path=path) is None:
            raise CannotRunHere(f"cannot build here: {tool} is not installed",
                                fix="run tools/setup.sh")
    if os.geteuid() != 0:
        raise CannotRunHere("cannot build here: diskimage-builder needs root",
                            fix="run as root, or use an image built elsewhere")
    mirror_mod.check_reachable(spec.env["DIB_DISTRIBUTION_MIRROR"], spec.os.release,
                               spec.os.family)
    return dib


class Progress:
    """Phase and elapsed time: one rewritten line on a terminal, else a line
    per phase."""

    def __init__(self, name: str, say: Callable[[str], None], tty: bool):
        self.name, self.say, self.tty = name, say, tty
        self.start = time.monotonic()
        self.phase = "debootstrap"
        self._last = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def line(self, text: str) -> None:
        m = PHASE.search(text)
        changed = bool(m and m.group(1) != self.phase)
        if changed:
            self.phase = m.group(1)
        now = self.elapsed()
        if self.tty and (changed or now - self._last >= 1.0):
            self._last = now
            sys.stdout.write(f"\r{self.name}: {self.phase:<16} {now:5.0f}s")
            sys.stdout.flush()
        elif not self.tty and changed:
            self.say(f"{self.name}: {self.phase} ({now:.0f}s)")

    def done(self) -> None:
        if self.tty:
            sys.stdout.write("\n")


MISSING_PACKAGE = re.compile(r"(?:Unable to locate package (\S+)|Package '([^']+)' has no "
                             r"installation candidate|Version '[^']*' for '([^']+)' was not found"
                             r"|Depends: (\S+) .*but it is not installable)")


def classify_failure(log_lines: list[str], name: str, log: Path,
                     previous: dict[str, str] | None = None) -> VerifyError:
    """previous: package -> version from earlier builds of this image (manifests):
    a package they installed and the archive no longer serves is an archive
    change; one no earlier build ever had is the element's mistake."""
    previous = previous or {}
    for line in reversed(log_lines):
        m = ARCHIVE_CHANGED.search(line)
        if not m:
            continue
        what = m.group(1).strip()
        pkg = MISSING_PACKAGE.search(line)
        package = next((g for g in pkg.groups() if g), None) if pkg else None
        if package and previous and package not in previous:
            return ImageBuildFailed(
                f"image {name}: an element names package {package!r}, which the archive "
                "does not serve and no earlier build of this image installed (an element "
                "problem, not an archive change)", fix=f"fix the element; log: {log}")
        since = (f"; earlier builds installed {package} {previous[package]}"
                 if package in previous else
                 "; no earlier build of this image to compare with" if package else "")
        return ArchiveChanged(
            f"image {name}: the OS archive changed under the build ({what}{since}); "
            "this is not a harness failure, and a cached image keeps working",
            fix=f"retry later or pin the package; log: {log}")
    for line in reversed(log_lines):
        m = UNREACHABLE.search(line)
        if m:
            return CannotRunHere(f"cannot build here: the mirror is unreachable "
                                 f"({m.group(1).strip()[:160]})", fix=f"log: {log}")
    tail = [ln.split("| ", 1)[-1].strip() for ln in log_lines[-400:]]
    errors = [ln for ln in tail if re.search(r"\b(error|failed|E:)\b", ln, re.I)][-3:]
    return ImageBuildFailed(f"image {name}: disk-image-create failed (a harness or element "
                            f"problem, not the archive): {' | '.join(errors) or tail[-1:]}",
                            fix=f"full log: {log}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build(spec: ImageSpec, *, say: Callable[[str], None] = print, force: bool = False,
          tty: bool | None = None, timeouts: Timeouts | None = None) -> tuple[Image, bool]:
    """The image for spec: from the cache, or built now. Returns (image, hit)."""
    if not force:
        hit = cached(spec)
        if hit is not None:
            return hit, True
    spec.dir.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.dir.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)    # one build per image name at a time
        if not force and (hit := cached(spec)) is not None:
            return hit, True
        return _build_locked(spec, say, tty, timeouts or Timeouts.from_env()), False


def _dib_cache_lock(say, timeouts: Timeouts):
    """One disk-image-create at a time on this machine: every build shares
    DIB's caches (~/.cache/image-create: the debootstrap tarballs and the apt
    archive bind-mounted into each build), and two builds at once fail on
    apt's lock inside the chroot ("Could not get lock
    /var/cache/apt/archives/lock"), whatever image each builds."""
    cache = Path(os.environ.get("DIB_IMAGE_CACHE", Path.home() / ".cache" / "image-create"))
    cache.mkdir(parents=True, exist_ok=True)
    fh = open(cache / ".trove-verify-build.lock", "w")
    until = time.monotonic() + timeouts.image_build
    told = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() > until:
                fh.close()
                raise WaitTimeout(f"another image build held diskimage-builder's caches "
                                  f"({cache}) for over {timeouts.image_build:.0f}s",
                                  where="TROVE_VERIFY_TIMEOUT_IMAGE_BUILD") from None
            if not told:
                say(f"waiting for another image build on this machine ({cache} is shared)")
                told = True
            time.sleep(1)


def _build_locked(spec: ImageSpec, say, tty, timeouts: Timeouts) -> Image:
    dib = preflight(spec)
    with _dib_cache_lock(say, timeouts):
        return _build_unshared(spec, dib, say, tty, timeouts)


def _build_unshared(spec: ImageSpec, dib: str, say, tty, timeouts: Timeouts) -> Image:
    cleanup_stale()    # a SIGKILLed build's mounts and scratch go before we start another
    # diskimage-builder's build dirs, and every mount it makes (the host's
    # /dev, /proc, /sys, devpts, a tmpfs), live below a scratch dir recorded
    # in the ledger before it exists: failure, a signal or, after SIGKILL,
    # `cleanup` unmounts them deepest first and only then removes the dir
    ledger = Ledger(f"image-{spec.name}-{os.getpid()}")
    try:
        scratch = work_dir() / "dib" / ledger.run_id
        ledger.add("dir", str(scratch))
        scratch.mkdir(parents=True, mode=0o700)
        return _build_in(spec, say, tty, timeouts, dib, ledger, scratch)
    finally:
        ledger.teardown()


def _build_in(spec: ImageSpec, say, tty, timeouts: Timeouts, dib: str, ledger: Ledger,
              scratch: Path) -> Image:
    work = spec.dir.with_name(spec.dir.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "build.log"
    env = dict(os.environ, PATH=_tool_path(), ELEMENTS_PATH=str(elements_dir()),
               DIB_DEBOOTSTRAP_CACHE="1", DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE="1",
               TMP_DIR=str(scratch), TMPDIR=str(scratch), **spec.env)
    argv = [dib, "-x", "-t", "tar", "-o", str(work / "image"), *spec.elements]
    say(f"{spec.name}: building with diskimage-builder {dib_version()} "
        f"({' '.join(spec.elements)}; release {spec.os.release})")
    progress = Progress(spec.name, say, sys.stdout.isatty() if tty is None else tty)
    lines: list[str] = []
    with open(log, "w") as fh:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, cwd=work, text=True,
                                errors="replace", start_new_session=True)
        ledger.add("process", proc.pid, cmd="disk-image-create")
        deadline = time.monotonic() + timeouts.image_build
        try:
            for line in proc.stdout:
                fh.write(line)
                lines.append(line)
                if len(lines) > 4000:
                    del lines[:2000]
                progress.line(line)
                if time.monotonic() > deadline:
                    raise ImageBuildFailed(f"image {spec.name}: no result within "
                                           f"{timeouts.image_build:.0f}s",
                                           fix=f"raise TROVE_VERIFY_TIMEOUT_IMAGE_BUILD; "
                                               f"log: {log}")
            rc = proc.wait()
        except BaseException:
            os.killpg(proc.pid, 15)     # DIB's own trap unmounts what it can
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(timeout=30)
            raise
        finally:
            progress.done()
    if rc != 0 or not (work / "image.tar").is_file():
        previous: dict[str, str] = {}
        for manifest in spec.dir.parent.glob("*/manifest.json"):
            try:
                previous.update(json.loads(manifest.read_text()).get("packages", {}))
            except (OSError, ValueError):
                continue
        raise classify_failure(lines, spec.name, log, previous)
    status = subprocess.run(["tar", "-xOf", str(work / "image.tar"), "./var/lib/dpkg/status"],
                            capture_output=True)
    (work / "dpkg.status").write_bytes(status.stdout)
    manifest = {
        "name": spec.name, "datastore": spec.datastore, "os": spec.os.name,
        "family": spec.os.family, "release": spec.os.release,
        "elements": list(spec.elements), "dib_version": dib_version(),
        "cache_key": spec.key, "environment": {k: v for k, v in spec.env.items()
                                               if not k.endswith("MIRROR")},
        "sha256": _sha256(work / "image.tar"), "size": (work / "image.tar").stat().st_size,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_s": round(progress.elapsed(), 1),
        "packages": installed_packages(work / "dpkg.status"),
    }
    (work / "dpkg.status").unlink()
    shutil.rmtree(work / "image.d", ignore_errors=True)
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(spec.dir, ignore_errors=True)
    work.rename(spec.dir)
    say(f"{spec.name}: built in {manifest['build_s']:.0f}s, sha256 {manifest['sha256'][:16]}…, "
        f"{len(manifest['packages'])} packages")
    return Image(spec.name, spec.dir, manifest)
