"""A SIGKILLed image build leaves no host mounts once `cleanup` has run.

diskimage-builder bind-mounts the host's /dev, /proc, /sys and devpts into
its build dir and mounts a tmpfs over it. The harness is SIGKILLed once those
mounts exist (it has no chance to tear down; DIB, in its own session, keeps
running); then `trove-verify cleanup` with the same work dir must leave
nothing mounted below the build's dirs, no build process and no build dir.
A private TROVE_VERIFY_CACHE keeps the shared image cache out of it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

DATASTORE, OS_NAME = "redis", "debian-bookworm"
NEEDED = ("/proc", "/sys", "/dev")      # what DIB's mount_proc_dev_sys binds


def mounts_below(prefix: str) -> list[str]:
    out = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split(" ")[1].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix.rstrip("/") + "/"):
            out.append(point)
    return out


def build_processes(marker: str) -> list[int]:
    """PIDs whose command line names our private cache (the DIB tree) or
    whose environment does (its children: chroot, apt, dib-run-parts)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(proc.name))
    return found


def _rescue(dirs: list[str], marker: str) -> None:
    """Whatever the code under test left: the test's own mess, undone."""
    for pid in build_processes(marker):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    time.sleep(1)
    for d in dirs:
        for point in sorted(mounts_below(d), key=lambda p: p.count("/"), reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        if not mounts_below(d):
            shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_build_leaves_no_mounts(workdir, sig):
    """SIGKILL: `cleanup` removes it all. SIGTERM (and Ctrl-C, the same
    handler): the build tears down itself before it exits."""
    from verify import catalog
    from verify.images import build as build_mod
    from verify.images import spec_for

    try:
        build_mod.preflight(spec_for(catalog.default().get(DATASTORE), OS_NAME))
    except Exception as exc:     # no DIB, no root, no mirror: say so, never pass
        pytest.skip(f"cannot build images here: {exc}")
    cache = Path(tempfile.mkdtemp(prefix="tv-rel-cache-", dir="/tmp"))
    marker = str(cache)
    env = dict(os.environ, TROVE_VERIFY_WORKDIR=str(workdir), TROVE_VERIFY_CACHE=marker,
               PYTHONPATH=str(REPO),
               # DIB's shared apt cache is locked by any concurrent build (the
               # machine's own image builds): this one must not fail on that
               DIB_APT_LOCAL_CACHE="0")
    proc = subprocess.Popen([sys.executable, "-m", "verify", "image", "build", DATASTORE,
                             "--os", OS_NAME], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    dirs: list[str] = []
    try:
        deadline = time.monotonic() + 600
        build_dir = None
        while time.monotonic() < deadline and proc.poll() is None:
            if build_dir is None:
                for log in cache.glob("images/*/*.building/build.log"):
                    text = log.read_text(errors="replace")
                    m = re.search(r"Building in (\S+)", text)
                    image = re.search(r"'image-dir': '([^']+)'", text)
                    if m and image:
                        build_dir = m.group(1)
                        dirs += [build_dir, image.group(1)]
            if build_dir:
                points = mounts_below(build_dir)
                if all(any(p.endswith(n) for p in points) for n in NEEDED):
                    break
            time.sleep(0.2)
        assert proc.poll() is None, f"the build ended (rc {proc.returncode}) before mounting"
        assert build_dir, "DIB never said where it builds"
        at_kill = {d: len(mounts_below(d)) for d in dirs}
        proc.send_signal(sig)
        rc = proc.wait(timeout=200)
        said = f"exit {rc}"
        if sig == signal.SIGKILL:
            time.sleep(2)                 # DIB carries on without its parent
            cleanup = subprocess.run([sys.executable, "-m", "verify", "cleanup"], cwd=REPO,
                                     env=env, capture_output=True, text=True, timeout=300)
            assert cleanup.returncode == 0, cleanup.stderr
            said = f"cleanup said {cleanup.stdout.strip().splitlines()[-1:]}"
        left = {d: mounts_below(d) for d in dirs}
        alive = build_processes(marker)
        print(f"\nat {sig.name}: {at_kill}; {said}; mounts left: "
              f"{sum(map(len, left.values()))}; build processes left: {len(alive)}; "
              f"dirs left: {[d for d in dirs if Path(d).exists()]}")
        assert all(v == [] for v in left.values()), left
        assert alive == [], alive
        assert [d for d in dirs if Path(d).exists()] == []
        assert mounts_below(str(workdir)) == []
        # the host's own mounts are untouched
        assert Path("/dev/null").exists() and Path("/proc/self").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _rescue(dirs, marker)
        shutil.rmtree(cache, ignore_errors=True)
