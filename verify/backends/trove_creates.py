"""What a run has learned about creating each datastore version through Trove.

When the first plain creates of a version all end in ERROR (Trove 26's
MySQL config template keeps MySQL 9.7 from starting: each such create costs
the agent's whole ``state_change_wait_time``), every later scenario of that
version would wait as long to fail the same way. Like a tempest class whose
``resource_setup`` failed, those scenarios fail at once with the first
failure's reason. One create of the version that reaches ACTIVE clears it:
a failure under load never blocks the versions that do work.
"""

from __future__ import annotations

import threading

from verify.errors import EngineError


class VersionNeverCameUp(EngineError):
    """A create not attempted: no instance of this version has come up in
    this run, and one ended in ERROR."""


class CreateOutcomes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._came_up: set[tuple[str, str]] = set()
        self._failed: dict[tuple[str, str], str] = {}

    def check(self, datastore: str, version: str) -> None:
        """Raise VersionNeverCameUp when this version has only ever failed."""
        with self._lock:
            first = self._failed.get((datastore, version))
        if first is not None:
            raise VersionNeverCameUp(
                f"not attempted: no {datastore} {version} instance has come up through "
                f"Trove in this run, and one ended in ERROR ({first})")

    def came_up(self, datastore: str, version: str) -> None:
        with self._lock:
            self._came_up.add((datastore, version))
            self._failed.pop((datastore, version), None)

    def ended_in_error(self, datastore: str, version: str, reason: str) -> None:
        """A plain create (no backup, replica source or configuration, which
        may fail for their own reasons) went ERROR."""
        with self._lock:
            if (datastore, version) not in self._came_up:
                self._failed.setdefault((datastore, version), reason)
