"""Create -> first query for MariaDB: namespace guest (DIB image) vs process
guest, ROUNDS times each, interleaved. Prints medians and the ratio.
Run through bench/namespace_guest.sh."""

from __future__ import annotations

import os
import statistics
import sys
import time

from verify import catalog
from verify.backends.local import LocalBackend
from verify.state import Ledger


def measure(kind: str, rounds: int) -> tuple[list[float], list[float], list[float]]:
    ledger = Ledger(f"bench-{kind}-{os.getpid()}")
    backend = LocalBackend(catalog.load(), guest=kind, ledger=ledger)
    backend.prepare(catalog.load().get("mariadb"), ["10.11"], say=lambda _: None)
    first, guest_s, delete = [], [], []
    try:
        for _ in range(rounds):
            started = time.monotonic()
            inst = backend.create_instance("mariadb", "10.11", name="bench")
            with backend.connect(inst, backend.service_credentials(inst)) as client:
                client.query("SELECT 1")
            first.append(time.monotonic() - started)
            guest_s.append(getattr(inst.extra["guest"], "ready_s", 0.0))
            started = time.monotonic()
            backend.delete_instance(inst)
            delete.append(time.monotonic() - started)
    finally:
        backend.close()
        ledger.teardown()
    return first, guest_s, delete


def main() -> int:
    rounds = int(os.environ.get("ROUNDS", "5"))
    results = {kind: measure(kind, rounds) for kind in ("namespace", "process")}
    med = {k: statistics.median(v[0]) for k, v in results.items()}
    for kind, (first, guest_s, delete) in results.items():
        print(f"{kind:9}  create->first query median {med[kind]:.2f}s "
              f"(min {min(first):.2f}s; guest ready {statistics.median(guest_s):.2f}s)  "
              f"delete median {statistics.median(delete):.2f}s")
    print(f"namespace/process ratio: {med['namespace'] / med['process']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
