"""A container registry in the box, holding Trove's backup images.

Trove 26's agent resolves ``backup_docker_image`` through the registry
before every backup and restore (``get_backup_image`` calls docker's
distribution inspect, which asks the image's registry for its manifest), so
an image loaded into the guest is not enough: the image must be in a
registry the guest's dockerd reaches. This is Debian's ``docker-registry``
(the CNCF distribution registry) on the box-private address, storage under
the box's run directory, the box's backup images pushed into it through the
registry's own HTTP API (OCI manifest, the layers as the archive holds
them). Guests' dockerd name it an insecure (plain HTTP) registry.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import tarfile
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from verify.box.containers import ContainerImage
from verify.box.control import PieceFailed
from verify.engines.base import free_port, wait_for
from verify.state import Ledger

BINARY = "docker-registry"      # Debian's package of the same name (tools/setup.sh)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"   # uncompressed, as archived


def config_yml(*, storage: Path, address: str, port: int) -> str:
    return textwrap.dedent(f"""\
        version: 0.1
        log:
          level: info
        storage:
          filesystem:
            rootdirectory: {storage}
        http:
          addr: {address}:{port}
        """)


@dataclass
class Registry:
    root: Path          # <box>/run/registry
    ledger: Ledger
    logs: Path
    address: str = ""
    port: int = 0
    proc: subprocess.Popen | None = None
    pushed: dict[str, str] = field(default_factory=dict)    # name -> manifest digest

    @property
    def log(self) -> Path:
        return self.logs / "registry.log"

    @property
    def host(self) -> str:
        """What image names start with, and what guests' dockerd trusts."""
        return f"{self.address}:{self.port}"

    def start(self, address: str) -> None:
        binary = shutil.which(BINARY)
        if binary is None:
            raise PieceFailed("container registry", self.log,
                              f"{BINARY} not installed (tools/setup.sh installs Debian's "
                              f"{BINARY})")
        self.address = address
        self.port = free_port(address)
        self.ledger.add("port", self.port)
        self.root.mkdir(mode=0o700)
        conf = self.root / "config.yml"
        conf.write_text(config_yml(storage=self.root / "storage", address=address,
                                   port=self.port))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([binary, "serve", str(conf)], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.root, start_new_session=True)
        self.ledger.add("process", self.proc.pid, cmd=BINARY)

        def answers() -> bool:
            with socket.create_connection((address, self.port), timeout=1):
                return True
        try:
            wait_for(answers, timeout=60, what="container registry", interval=0.1,
                     alive=lambda: self.proc.poll() is None)
        except Exception:
            raise PieceFailed("container registry", self.log,
                              "exited" if self.proc.poll() is not None
                              else f"no answer on {self.host}") from None

    # pushing ---------------------------------------------------------------------
    def _call(self, method: str, path: str, *, data=None, headers: dict | None = None,
              timeout: float = 600) -> tuple[int, dict, bytes]:
        url = path if path.startswith("http") else f"http://{self.host}{path}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def _blob(self, repo: str, digest: str, size: int, open_body) -> None:
        if self._call("HEAD", f"/v2/{repo}/blobs/{digest}")[0] == 200:
            return
        code, headers, body = self._call("POST", f"/v2/{repo}/blobs/uploads/")
        if code != 202:
            raise PieceFailed("container registry", self.log,
                              f"upload to {repo} refused: {code} {body[:200]!r}")
        location = headers.get("Location", "")
        location = location if location.startswith("http") else f"http://{self.host}{location}"
        sep = "&" if "?" in location else "?"
        with open_body() as fh:
            code, _h, body = self._call(
                "PUT", f"{location}{sep}digest={digest}", data=fh,
                headers={"Content-Length": str(size),
                         "Content-Type": "application/octet-stream"})
        if code != 201:
            raise PieceFailed("container registry", self.log,
                              f"blob {digest[:19]} of {repo} refused: {code} {body[:200]!r}")

    def push(self, image: ContainerImage, name: str | None = None) -> str:
        """Push a docker-load archive as <host>/<repo>:<tag>; the full name."""
        repo, _, tag = (name or image.name).partition(":")
        with tarfile.open(image.tar) as tar:
            (entry,) = json.load(tar.extractfile("manifest.json"))
            config = tar.extractfile(entry["Config"]).read()
            layers = []
            for member_name in entry["Layers"]:
                member = tar.getmember(member_name)
                digest = f"sha256:{member_name.split('/')[0]}"
                self._blob(repo, digest, member.size,
                           lambda m=member: tar.extractfile(m))
                layers.append({"mediaType": OCI_LAYER, "digest": digest, "size": member.size})
        config_digest = f"sha256:{hashlib.sha256(config).hexdigest()}"
        self._blob(repo, config_digest, len(config), lambda: _BytesCtx(config))
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                       "size": len(config)},
            "layers": layers}).encode()
        code, headers, body = self._call("PUT", f"/v2/{repo}/manifests/{tag}", data=manifest,
                                         headers={"Content-Type": OCI_MANIFEST})
        if code != 201:
            raise PieceFailed("container registry", self.log,
                              f"manifest {repo}:{tag} refused: {code} {body[:200]!r}")
        self.pushed[f"{repo}:{tag}"] = headers.get("Docker-Content-Digest", "")
        return f"{self.host}/{repo}:{tag}"

    def dead(self) -> list[str]:
        return [BINARY] if self.proc is not None and self.proc.poll() is not None else []

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


class _BytesCtx:
    def __init__(self, data: bytes):
        import io
        self._fh = io.BytesIO(data)

    def __enter__(self):
        return self._fh

    def __exit__(self, *exc) -> None:
        self._fh.close()

