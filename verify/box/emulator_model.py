"""What the box's emulator keeps and parses: its networks, flavors, images,
servers and ports, and the cloud-init user data Trove sends (emulator.py
serves them)."""

from __future__ import annotations

import base64
import configparser
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

# Two emulated networks over the guests' one real interface: Trove's
# management network (management_networks; Trove creates a port on it for
# every instance and hides its addresses) and the network the instance's
# address is reported on (the emulator binds a port there at boot, as Nova
# does for a network it allocates). Both carry the guest's one address.
NETWORK_ID = "6b0c0b0e-b0c5-4b0c-8b0c-000000000b0c"
SUBNET_ID = "6b0c0b0e-b0c5-4b0c-8b0c-000000000b0d"
MGMT_NETWORK_ID = "6b0c0b0e-b0c5-4b0c-8b0c-00000000a0a0"
MGMT_SUBNET_ID = "6b0c0b0e-b0c5-4b0c-8b0c-00000000a0a1"
SUBNETS = {NETWORK_ID: SUBNET_ID, MGMT_NETWORK_ID: MGMT_SUBNET_ID}
ZONE = "nova"


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class FlavorSpec:
    id: str
    name: str
    ram: int
    vcpus: int = 1
    disk: int = 0
    # GB. With volumes on (the box's default) Trove refuses flavors with an
    # ephemeral disk (LocalStorageNotSupported, 501, on resize); with them
    # off it puts the datastore on this disk at device_path (/dev/vdb).
    ephemeral: int = 0


# harness sizes (verify.backends.base.FLAVORS) plus room for resize
DEFAULT_FLAVORS = [FlavorSpec("1", "box.tiny", 256), FlavorSpec("2", "box.small", 512),
                   FlavorSpec("3", "box.medium", 1024), FlavorSpec("4", "box.large", 2048, 2)]


@dataclass
class ImageSpec:
    id: str
    name: str
    tags: list[str] = field(default_factory=list)
    checksum: str = ""


def parse_user_data(user_data: str | None) -> dict[str, str]:
    """The files a cloud-init #cloud-config write_files would write.

    user_data is base64 as Nova receives it. Only `#cloud-config` with
    write_files (content plain or `encoding: b64`) is understood; anything
    else is refused with the reason, since a guest without its files can
    never report.
    """
    if not user_data:
        return {}
    try:
        text = base64.b64decode(user_data, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise HTTPError(400, "user_data is not base64 of UTF-8 text") from None
    if not text.startswith("#cloud-config"):
        raise HTTPError(400, "user_data is not #cloud-config (the box understands only "
                             "cloud-init write_files)")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise HTTPError(400, f"user_data is not valid YAML: {exc}") from None
    files: dict[str, str] = {}
    for item in doc.get("write_files") or []:
        path, content = item.get("path"), item.get("content", "")
        if not path:
            raise HTTPError(400, "a write_files entry has no path")
        encoding = (item.get("encoding") or "").lower()
        if encoding in ("b64", "base64"):
            content = base64.b64decode(content).decode()
        elif encoding:
            raise HTTPError(400, f"write_files encoding {encoding!r} is not supported "
                                 f"({path})")
        files[path] = content
    return files


def guest_info(files: dict[str, str]) -> dict[str, str]:
    """[DEFAULT] of the guest_info.conf Trove wrote (datastore_manager, ...)."""
    for path, content in files.items():
        if path.endswith("guest_info.conf"):
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(content)
            return dict(parser.defaults())
    return {}


@dataclass
class Server:
    id: str
    name: str
    flavor_id: str
    image_id: str
    tenant_id: str
    user_id: str
    metadata: dict
    status: str = "BUILD"
    address: str | None = None
    fault: str | None = None
    guest: Any = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime()))
    old_flavor_id: str | None = None
    own_ports: list[str] = field(default_factory=list)   # allocated here; deleted with it
    tags: list[str] = field(default_factory=list)
    # the Cinder volume booted at device_path (block_device_mapping_v2), and
    # whether deleting the server deletes it
    volume_id: str | None = None
    delete_volume: bool = False


@dataclass
class Volume:
    """A Cinder volume: a sparse file the guest it boots with sees as a raw
    block device (its loop device is the guest's, made at boot)."""

    id: str
    name: str
    size: int                       # GB
    project_id: str
    path: Any                       # pathlib.Path of the file
    description: str = ""
    volume_type: str | None = None
    status: str = "available"       # available | in-use
    server_id: str | None = None    # attached to (in-use)
    booted_by: str | None = None    # the server whose disk it is, attached or not
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S.000000",
                                                                time.gmtime()))


@dataclass
class Port:
    id: str
    name: str
    network_id: str
    device_id: str
    tenant_id: str
    mac_address: str
    ip_address: str | None = None
