"""Two image builds on one machine take turns: diskimage-builder's caches
(debootstrap tarballs, the apt archive bind-mounted into every build) are
shared, and two builds at once failed on apt's lock inside the chroot."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest

from verify.errors import WaitTimeout
from verify.images import build
from verify.settings import Timeouts


def test_a_second_build_waits_for_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("DIB_IMAGE_CACHE", str(tmp_path))
    said: list[str] = []
    first = build._dib_cache_lock(said.append, Timeouts())
    got = threading.Event()

    def second():
        with build._dib_cache_lock(said.append, Timeouts()):
            got.set()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.5)
    assert not got.is_set()                       # still waiting for the first
    assert any("waiting for another image build" in s for s in said)
    first.close()                                 # the first build ends
    t.join(10)
    assert got.is_set()


def test_the_wait_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("DIB_IMAGE_CACHE", str(tmp_path))
    holder = open(tmp_path / ".trove-verify-build.lock", "w")
    fcntl.flock(holder, fcntl.LOCK_EX)
    started = time.monotonic()
    with pytest.raises(WaitTimeout, match="held diskimage-builder's caches"):
        build._dib_cache_lock(lambda _s: None, Timeouts(image_build=1.0))
    assert time.monotonic() - started < 5
    holder.close()
