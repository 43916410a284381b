"""The Cinder calls Trove makes, and Nova's volume calls, mixed into the
emulator: a volume is a sparse file in the box's run directory, and the
guest booted with it (Nova's block_device_mapping_v2) sees it as the raw
block device at Trove's device_path (/dev/vdb), through a loop device the
guest makes at boot. Extending a volume grows the file and tells the loop
device (losetup -c), so the guest sees the new size as it would a resized
Cinder volume.

A box guest cannot hot-plug another disk: detaching marks the volume
available and leaves the device in the guest (Trove unmounts it first and
attaches the same volume back), and attaching any other volume to a server
answers 501.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

from verify.box.emulator_model import ZONE, HTTPError, Server, Volume

DEVICE = "/dev/vdb"     # Trove's default device_path (block_device_mapping = vdb)

CINDER_ROUTES = [
    # the list before the show: "detail" is not a volume id
    ("volume", "GET", r"/v3/(?P<project>[^/]+)/volumes/detail", "volumes_list"),
    ("volume", "POST", r"/v3/(?P<project>[^/]+)/volumes", "volumes_create"),
    ("volume", "GET", r"/v3/(?P<project>[^/]+)/volumes/(?P<id>[^/]+)", "volumes_get"),
    ("volume", "DELETE", r"/v3/(?P<project>[^/]+)/volumes/(?P<id>[^/]+)", "volumes_delete"),
    ("volume", "POST", r"/v3/(?P<project>[^/]+)/volumes/(?P<id>[^/]+)/action", "volumes_action"),
    ("compute", "POST", r"/v2\.1/servers/(?P<id>[^/]+)/os-volume_attachments",
     "server_volume_attach"),
    ("compute", "DELETE",
     r"/v2\.1/servers/(?P<id>[^/]+)/os-volume_attachments/(?P<volume_id>[^/]+)",
     "server_volume_detach"),
]


class CinderCalls:
    """Needs self.volumes_dir (None: the box runs without volumes),
    self.volumes, self.servers, self._lock and self._get_server."""

    volumes_dir: Path | None
    volumes: dict[str, Volume]
    servers: dict[str, Server]

    def _volume(self, v: Volume) -> dict:
        attached = [{"id": v.id, "attachment_id": v.id, "volume_id": v.id,
                     "server_id": v.server_id, "device": DEVICE}] if v.server_id else []
        return {"id": v.id, "name": v.name, "size": v.size, "status": v.status,
                "attachments": attached, "availability_zone": ZONE, "bootable": "false",
                "created_at": v.created, "description": v.description,
                "volume_type": v.volume_type, "metadata": {}, "multiattach": False,
                "encrypted": False, "os-vol-tenant-attr:tenant_id": v.project_id,
                "links": []}

    def _get_volume(self, id: str) -> Volume:
        volume = self.volumes.get(id)
        if volume is None:
            raise HTTPError(404, f"volume {id} not found")
        return volume

    def volumes_create(self, body: dict, project: str, **_) -> tuple[int, Any]:
        if self.volumes_dir is None:
            raise HTTPError(501, "box emulator does not implement volumes: this box runs "
                                 "Trove with trove_volume_support off")
        spec = body.get("volume") or {}
        for unserved in ("snapshot_id", "imageRef", "source_volid", "backup_id"):
            if spec.get(unserved):
                raise HTTPError(501, f"box emulator does not implement volumes from "
                                     f"{unserved} (an empty volume only)")
        try:
            size = int(spec.get("size"))
        except (TypeError, ValueError):
            raise HTTPError(400, f"volume size {spec.get('size')!r} is not a number") from None
        if size < 1:
            raise HTTPError(400, f"volume size {size} is under 1 GB")
        volume = Volume(id=str(uuid.uuid4()), name=spec.get("name") or "", size=size,
                        project_id=project, description=spec.get("description") or "",
                        volume_type=spec.get("volume_type"), path=None)
        volume.path = self.volumes_dir / f"{volume.id}.img"
        with open(volume.path, "wb") as fh:
            fh.truncate(size << 30)          # sparse: its size, no disk used yet
        with self._lock:
            self.volumes[volume.id] = volume
        return 202, {"volume": self._volume(volume)}

    def volumes_list(self, query: dict, **_) -> tuple[int, Any]:
        volumes = list(self.volumes.values())
        if "name" in query:
            volumes = [v for v in volumes if v.name in set(query["name"])]
        return 200, {"volumes": [self._volume(v) for v in volumes]}

    def volumes_get(self, id: str, **_) -> tuple[int, Any]:
        return 200, {"volume": self._volume(self._get_volume(id))}

    def volumes_delete(self, id: str, **_) -> tuple[int, Any]:
        with self._lock:
            volume = self._get_volume(id)
            if volume.status != "available":
                raise HTTPError(400, f"volume {id} is {volume.status}: only an available "
                                     "volume can be deleted")
            del self.volumes[id]
        Path(volume.path).unlink(missing_ok=True)
        return 202, None

    def volumes_action(self, id: str, body: dict, **_) -> tuple[int, Any]:
        volume = self._get_volume(id)
        action = next(iter(body), "")
        if action != "os-extend":
            raise HTTPError(501, f"box emulator does not implement volume action {action!r}")
        try:
            new_size = int((body["os-extend"] or {}).get("new_size"))
        except (TypeError, ValueError):
            raise HTTPError(400, "os-extend needs new_size in GB") from None
        if new_size <= volume.size:
            raise HTTPError(400, f"new size {new_size} GB is not larger than {volume.size} GB")
        with open(volume.path, "r+b") as fh:
            fh.truncate(new_size << 30)
        server = self.servers.get(volume.booted_by or "")
        loop = getattr(getattr(server, "guest", None), "loop", None)
        if loop:    # the guest's loop device reads the file's new size
            subprocess.run(["losetup", "-c", loop], check=True, capture_output=True,
                           timeout=30)
        volume.size = new_size
        return 202, None

    def boot_volume(self, server: Server, mappings: list[dict]) -> None:
        """The volume servers.create boots with (block_device_mapping_v2)."""
        volumes = [b for b in mappings if b.get("source_type") != "image"]
        if not volumes:
            return
        if len(volumes) > 1 or any(b.get("source_type") != "volume" or
                                   b.get("destination_type") != "volume" or
                                   str(b.get("boot_index", "-1")) == "0" for b in volumes):
            raise HTTPError(501, "box emulator does not implement this block device mapping "
                                 f"({volumes!r}): one existing volume as a second disk only")
        with self._lock:
            volume = self._get_volume(volumes[0].get("uuid", ""))
            if volume.status != "available":
                raise HTTPError(400, f"volume {volume.id} is {volume.status}")
            volume.status, volume.server_id, volume.booted_by = "in-use", server.id, server.id
        server.volume_id = volume.id
        server.delete_volume = bool(volumes[0].get("delete_on_termination"))

    def release_volume(self, server: Server) -> None:
        """A deleted server's volume: deleted with it (delete_on_termination) or
        left available."""
        volume = self.volumes.get(server.volume_id or "")
        if volume is None:
            return
        volume.status, volume.server_id, volume.booted_by = "available", None, None
        if server.delete_volume:
            with self._lock:
                self.volumes.pop(volume.id, None)
            Path(volume.path).unlink(missing_ok=True)

    def server_volume_attach(self, id: str, body: dict, **_) -> tuple[int, Any]:
        server = self._get_server(id)
        spec = body.get("volumeAttachment") or {}
        with self._lock:
            volume = self._get_volume(spec.get("volumeId", ""))
            if volume.id != server.volume_id:
                raise HTTPError(501, "box emulator does not implement attaching another disk "
                                     "to a running guest (only its own volume, back)")
            if volume.status != "available":
                raise HTTPError(400, f"volume {volume.id} is {volume.status}")
            volume.status, volume.server_id = "in-use", server.id
        return 200, {"volumeAttachment": {"id": volume.id, "volumeId": volume.id,
                                          "serverId": server.id,
                                          "device": spec.get("device") or DEVICE}}

    def server_volume_detach(self, id: str, volume_id: str, **_) -> tuple[int, Any]:
        self._get_server(id)
        with self._lock:
            volume = self._get_volume(volume_id)
            if volume.server_id != id:
                raise HTTPError(404, f"volume {volume_id} is not attached to server {id}")
            # the device stays in the guest (no hot-unplug); Trove unmounted it
            volume.status, volume.server_id = "available", None
        return 202, None
