"""Guest logs through Trove: list, enable, show and publish (troveclient's
log_list and log_action), and the published log read back from the object
store the way `trove log-save` does (troveclient's log_generator).

Trove's guest agent publishes a log into Swift (container
``guest_log_container_name``, one prefix per instance and log); the bundle
keeps what Swift holds, never the guest's file.
"""

from __future__ import annotations

import time
from pathlib import Path

from verify.backends.base import Instance
from verify.backends.trove_ops import RESTART_REQUIRED

RESTART_REQUIRED_NOTICE_S = 10.0


class TroveGuestLogs:
    """Needs self.trove (troveclient), self.cloud (keystoneauth session),
    self._trove_errors, self.wait_ready and self.restart_instance."""

    def list_logs(self, instance: Instance) -> list[str]:
        with self._trove_errors("log list"):
            return [log.name for log in self.trove.instances.log_list(instance.id)]

    def enable_log(self, instance: Instance, name: str) -> None:
        """Trove's log-enable; where the datastore must restart for the log to
        begin (PostgreSQL's logging_collector), Trove says RESTART_REQUIRED
        (as the instance's operating_status) and the harness restarts the
        instance through Trove, as a user would."""
        with self._trove_errors(f"log enable {name}"):
            self.trove.instances.log_action(instance.id, name, enable=True)
        # the agent asks for the restart by a cast through the conductor: it
        # shows in the instance's status a moment after the call returns
        end = time.monotonic() + RESTART_REQUIRED_NOTICE_S
        while time.monotonic() < end:
            record = self.trove.instances.get(instance.id)._info
            # the datastore's own status (operating_status) says it, not the
            # instance's task status (Trove 26 instance/models.py)
            if {record.get("status"), record.get("operating_status")} & RESTART_REQUIRED:
                self.restart_instance(instance)
                return
            time.sleep(0.5)

    def show_log(self, instance: Instance, name: str) -> dict:
        with self._trove_errors(f"log show {name}"):
            log = self.trove.instances.log_show(instance.id, name)._info
        # Trove counts a log's bytes as published plus pending
        return {"name": log["name"], "type": log.get("type"), "status": log.get("status"),
                "size": int(log.get("published") or 0) + int(log.get("pending") or 0)}

    def publish_log(self, instance: Instance, name: str, dest: Path) -> Path:
        with self._trove_errors(f"log publish {name}"):
            details = self.trove.instances.log_action(instance.id, name, publish=True)._info
        dest.mkdir(parents=True, exist_ok=True)
        path = dest / f"{instance.id}-{name}.log"
        if not int(details.get("published") or 0):
            # an empty log (MariaDB's error log goes to the container's
            # stderr): Trove publishes nothing and names no container
            path.write_text("")
            return path
        with self._trove_errors(f"log read back {name} from the object store"):
            chunks = self.trove.instances.log_generator(
                instance.id, name, lines=0, swift=self._swift())
            with open(path, "w") as out:
                for chunk in chunks():
                    out.write(chunk)
        return path

    def _swift(self):
        """A Swift connection on the cloud's own session (troveclient would
        otherwise rebuild one from the password it was never given)."""
        from swiftclient import client as swift_client
        return swift_client.Connection(session=self.cloud.session)
