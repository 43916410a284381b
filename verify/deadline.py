"""The time left in the current scenario, consulted by every wait.

A scenario opens a Deadline; each wait below it (engine start, replication,
cluster joins, Trove waits, guest boots, commands) asks ``bound(own)`` and
waits ``min(own, time left)``. Layer-free like ``settings``: engines, guests
and backends read it without knowing scenarios exist. It lives in a
contextvar, so worker threads a wait starts must run in a copy of the
caller's context (``contextvars.copy_context().run``).

Backends also register each instance here the moment its creation starts,
so a scenario over its bound can tear down what is still being created.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(eq=False)    # identity: kept in a WeakSet
class Deadline:
    seconds: float                      # the bound, for messages
    end: float                          # time.monotonic() when it runs out
    ran_out: str | None = None          # the first wait the deadline cut short
    interrupted: bool = False           # the run was stopped while this ran
    watched: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end

    def watch(self, obj) -> None:
        with self.lock:
            self.watched.append(obj)


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "trove_verify_deadline", default=None)

# every scenario's deadline still open, so an interrupted run can end them all
# at once: the scenarios' waits in every worker thread stop at their next
# poll instead of holding the run up (teardown, outside any scenario, waits on)
_open: weakref.WeakSet[Deadline] = weakref.WeakSet()


def interrupt_all() -> None:
    for d in list(_open):
        with d.lock:
            d.interrupted = True
            d.end = min(d.end, time.monotonic())


def over(end: float) -> bool:
    """Whether a wait due to end at `end` (time.monotonic()) is over: its own
    time is up, or its scenario's run was interrupted."""
    d = _current.get()
    return time.monotonic() >= end or (d is not None and d.interrupted)


def current() -> Deadline | None:
    return _current.get()


@contextlib.contextmanager
def scope(seconds: float) -> Iterator[Deadline]:
    """Everything inside waits at most `seconds` in all."""
    d = Deadline(seconds, time.monotonic() + seconds)
    _open.add(d)
    token = _current.set(d)
    try:
        yield d
    finally:
        _current.reset(token)


def enter(seconds: float) -> tuple[Deadline, contextvars.Token]:
    """scope() for callers that cannot use a with-block (a test's setUp)."""
    d = Deadline(seconds, time.monotonic() + seconds)
    _open.add(d)
    return d, _current.set(d)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)


def bound(own: float, floor: float = 0.0) -> float:
    """min(own, time left in the scenario); at least floor (a graceful stop
    after the deadline still gets a moment before SIGKILL)."""
    d = _current.get()
    if d is None:
        return own
    return min(own, max(d.remaining(), floor))


def cut_short(what: str) -> str | None:
    """When a wait ended with the scenario's deadline passed, the words to
    say so (and the first such wait is remembered for the scenario)."""
    d = _current.get()
    if d is None or not d.expired():
        return None
    if d.interrupted:
        return f"{what}: the run was interrupted"
    with d.lock:
        d.ran_out = d.ran_out or what
    return (f"{what}: the scenario's time bound of {d.seconds:.0f}s "
            "(TROVE_VERIFY_TIMEOUT_SCENARIO) ran out")


def watch(obj) -> None:
    """An instance whose creation starts now belongs to the current scenario."""
    d = _current.get()
    if d is not None:
        d.watch(obj)
