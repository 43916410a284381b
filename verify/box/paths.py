"""Where a box keeps its state: one directory under the work dir.

    <work>/box/status.json   the daemon's state (starting / up / failed)
    <work>/box/clouds.yaml   cloud `trove-box`, mode 0600
    <work>/box/run/          ledgered: databases, configs, RabbitMQ data
    <work>/box/logs/         kept after `box down` for inspection
"""

from __future__ import annotations

import grp
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

from verify.settings import SERVICE_USER, work_dir

CLOUD = "trove-box"


@dataclass
class BoxPaths:
    root: Path
    cloud: str = CLOUD

    @classmethod
    def default(cls) -> BoxPaths:
        return cls(work_dir() / "box")

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def make_root(self) -> Path:
        """The box's directory, closed to everyone but root and the service
        user's group (RabbitMQ runs as the service user and writes below it):
        Keystone's database, Trove's logs (Trove 26 logs its RPC keys in
        clear) and the configs are nobody else's to read."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            gid = grp.getgrnam(SERVICE_USER).gr_gid
        except KeyError:
            gid = -1            # no service user: root alone
        if os.geteuid() == 0:
            os.chown(self.root, 0, gid)
        os.chmod(self.root, 0o750 if gid != -1 else 0o700)
        return self.root

    def write_clouds_yaml(self, auth_url: str, password: str, region: str) -> Path:
        text = textwrap.dedent(f"""\
            clouds:
              {self.cloud}:
                auth:
                  auth_url: {auth_url}
                  username: admin
                  password: {password}
                  project_name: admin
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: {region}
                identity_api_version: 3
            """)
        fd = os.open(self.clouds_yaml, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return self.clouds_yaml

    def read_status(self) -> dict | None:
        try:
            return json.loads(self.status.read_text())
        except (OSError, ValueError):
            return None

    def remove_status(self) -> None:
        self.status.unlink(missing_ok=True)
        self.clouds_yaml.unlink(missing_ok=True)


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


def write_status(paths: BoxPaths, data: dict) -> None:
    paths.make_root()
    write_json(paths.status, data)
