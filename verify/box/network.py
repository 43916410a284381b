"""The box's private host address: one that namespace guests route to.

Guests route the whole guest range through the host end of their veth (see
verify/guests/nshost.py), so an address from that range that is local to the
host is reachable from every guest, and from nowhere else. This machine has
no dummy link type, so the address sits on a veth pair whose both ends stay
in the host namespace; the pair is ledgered before it exists and deleting
one end deletes both.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from verify.guests.alloc import claim_link, release_link
from verify.guests.nshost import sh
from verify.state import Ledger


class BoxAddress:
    """A host-local address inside the guest range; .address, .release()."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        # the /30 and the names are claimed machine-wide, like every guest's
        self._claim = claim_link(f"box-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:8])
        self.link, peer = self._claim.host_if, self._claim.guest_if
        self.address = str(next(iter(self._claim.net.hosts())))
        self.entry = ledger.add("veth", self.link)
        sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", peer)
        sh("ip", "addr", "add", f"{self.address}/30", "dev", self.link)
        sh("ip", "link", "set", peer, "up")
        sh("ip", "link", "set", self.link, "up")

    def exists(self) -> bool:
        return Path(f"/sys/class/net/{self.link}").exists()

    def release(self) -> None:
        if self.exists():
            sh("ip", "link", "delete", self.link)
        self.ledger.forget(self.entry)
        release_link(self._claim)
