"""Guest logs through Trove: list, enable, show and publish (troveclient's
log_list and log_action), and the published log read back from the object
store the way `trove log-save` does (troveclient's log_generator).

Trove's guest agent publishes a log into Swift (container
``guest_log_container_name``, one prefix per instance and log); the bundle
keeps what Swift holds, never the guest's file.
"""

from __future__ import annotations

from pathlib import Path

from verify.backends.base import Instance


class TroveGuestLogs:
    """Needs self.trove (troveclient), self.cloud (keystoneauth session) and
    self._trove_errors."""

    def list_logs(self, instance: Instance) -> list[str]:
        with self._trove_errors("log list"):
            return [log.name for log in self.trove.instances.log_list(instance.id)]

    def enable_log(self, instance: Instance, name: str) -> None:
        with self._trove_errors(f"log enable {name}"):
            self.trove.instances.log_action(instance.id, name, enable=True)

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
