"""Faults for the nemesis through a Trove deployment, mixed into TroveBackend.

Trove's API injects no faults, so they go below it, to the guest: the
deployment provides a GuestFaults (the box: verify/box/faults.py, asked
over loopback of the daemon that owns the guests). A cloud without one
declines every fault with the reason before a scenario creates anything.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from verify.backends.base import Instance
from verify.errors import EngineError, NotSupported

NO_GUEST_FAULTS = ("Trove's API injects no faults, and this cloud gives the harness no way "
                   "into its guests (the box does)")
BOX_CANNOT = {"network": "cutting a Trove guest's network link is not wired into the box yet",
              "volume": "filling a Trove guest's data volume is not wired into the box "
                        "yet (Trove formats and mounts it inside the guest)"}


@runtime_checkable
class GuestFaults(Protocol):
    """Faults inside the guest of a Trove instance (by its compute server id)."""

    def kill_datastore(self, server_id: str) -> dict: ...

    def start_datastore(self, server_id: str) -> dict: ...

    def restart_agent(self, server_id: str) -> dict: ...

    def stop_agent(self, server_id: str) -> dict: ...

    def datastore_state(self, server_id: str) -> dict: ...

    def volume_state(self, server_id: str) -> dict: ...


class TroveFaults:
    """Needs self.guest_faults (GuestFaults or None) and self.box."""

    guest_faults: GuestFaults | None = None

    def _faults(self, what: str) -> GuestFaults:
        if self.guest_faults is None:
            raise NotSupported(f"{what}: {NO_GUEST_FAULTS}")
        return self.guest_faults

    def _server_id(self, instance: Instance) -> str:
        from verify.box import faults
        return faults.server_id(self.box, instance.id)

    def _record(self, instance: Instance, fault: str, answer: dict) -> dict:
        instance.extra.setdefault("faults", []).append(answer | {"fault": fault})
        return answer

    def fault_possible(self, kind: str) -> None:
        if kind in BOX_CANNOT:
            raise NotSupported(BOX_CANNOT[kind] if self.guest_faults is not None
                               else NO_GUEST_FAULTS)
        self._faults(f"{kind} faults")

    def kill_server(self, instance: Instance) -> None:
        """SIGKILL the datastore's container inside the guest; Trove is not told."""
        faults = self._faults("killing the datastore")
        self._record(instance, "kill_datastore", faults.kill_datastore(self._server_id(instance)))

    def revive_server(self, instance: Instance) -> None:
        faults = self._faults("starting the datastore")
        self._record(instance, "start_datastore",
                     faults.start_datastore(self._server_id(instance)))

    def restart_agent(self, instance: Instance) -> dict:
        faults = self._faults("restarting the guest agent")
        return self._record(instance, "restart_agent",
                            faults.restart_agent(self._server_id(instance)))

    def silence_agent(self, instance: Instance) -> dict:
        """Stop the instance's guest agent for good: Trove stops hearing from
        it (what eject-replica-source waits for); the datastore keeps running."""
        faults = self._faults("stopping the guest agent")
        return self._record(instance, "stop_agent",
                            faults.stop_agent(self._server_id(instance)))

    @staticmethod
    def agent_silenced(instance: Instance) -> bool:
        """Its guest agent was stopped and not restarted since."""
        faults = [f["fault"] for f in instance.extra.get("faults", [])
                  if f["fault"] in ("stop_agent", "restart_agent")]
        return bool(faults) and faults[-1] == "stop_agent"

    def volume_size_gb(self, instance: Instance) -> float:
        """The data volume's filesystem size as the guest sees it (the box);
        elsewhere Trove's own record of the volume's size."""
        if self.guest_faults is None:
            record = self.trove.instances.get(instance.id)._info
            size = (record.get("volume") or {}).get("size")
            if size is None:
                raise NotSupported("Trove shows no volume for this instance")
            return float(size)
        state = self.guest_faults.volume_state(self._server_id(instance))
        if not state.get("mounted"):
            raise EngineError(f"the guest of {instance.id} has nothing mounted from "
                              f"{state['device']}: {state.get('error', '')}")
        return state["size_bytes"] / (1 << 30)

    def engine_state(self, instance: Instance) -> dict:
        """The datastore container as the guest's docker reports it."""
        faults = self._faults("reading the datastore's container")
        return faults.datastore_state(self._server_id(instance))
