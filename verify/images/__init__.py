"""Guest images built from elements/ with diskimage-builder, cached by a
content hash of the elements, their environment and the DIB version.

An image is (datastore, supported OS). Its cache entry lives under
``settings.cache_dir()/images/<name>/<key>/``: the tar DIB wrote, a manifest
(packages and versions inside, sha256) and, once a namespace guest needs it,
the unpacked root filesystem shared read-only by every guest.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from verify.catalog import Datastore, OperatingSystem
from verify.errors import CannotRunHere, UsageError
from verify.images import mirror
from verify.settings import cache_dir, repo_root

# Added by the harness to images only namespace guests use (never booted).
NAMESPACE_ELEMENTS = ("guest-no-kernel",)
# The box's images: Trove's guest image, and the layer that makes a datastore
# image a container image Trove's guest agent can run (verify/box).
BOX_ELEMENTS = ("debian-trove-guest", "trove-datastore-container")
HARNESS_ELEMENTS = NAMESPACE_ELEMENTS + BOX_ELEMENTS
BASE_ELEMENT = {"debian": "debian-minimal", "ubuntu": "ubuntu-minimal"}
# DIB variables that change what gets built, taken from the caller's environment.
PASSED_ENV = ("DIB_DISTRIBUTION_MIRROR", "DIB_DEBIAN_SECURITY_MIRROR", "DIB_DEBIAN_COMPONENTS",
              "DIB_APT_SOURCES_CONF", "TROVE_VERIFY_SERVICE_USER")


def elements_dir() -> Path:
    return repo_root() / "elements"


def dib_version() -> str:
    try:
        return metadata.version("diskimage-builder")
    except metadata.PackageNotFoundError:
        return ""


def element_closure(names: list[str], root: Path | None = None) -> list[str]:
    """The repo elements names pull in through element-deps (DIB's own are
    covered by the DIB version in the hash)."""
    root = root or elements_dir()
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in seen or not (root / name).is_dir():
            continue
        seen.append(name)
        deps = root / name / "element-deps"
        if deps.is_file():
            todo += [d.strip() for d in deps.read_text().splitlines() if d.strip()]
    return sorted(seen)


def content_hash(elements: list[str], env: dict[str, str], dib: str,
                 root: Path | None = None) -> str:
    """sha256 over every file of the elements (path, mode, bytes), env and DIB."""
    root = root or elements_dir()
    h = hashlib.sha256()
    h.update(f"dib={dib}\n".encode())
    for key in sorted(env):
        h.update(f"env {key}={env[key]}\n".encode())
    for name in element_closure(elements, root):
        for path in sorted((root / name).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                rel = path.relative_to(root)
                h.update(f"file {rel} {path.stat().st_mode & 0o111:o}\n".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class ImageSpec:
    datastore: str
    os: OperatingSystem
    elements: tuple[str, ...]       # what disk-image-create gets, in order
    env: dict                       # DIB_* for this build
    key: str                        # content hash: elements + env + DIB version

    @property
    def name(self) -> str:
        return f"{self.os.name}-{self.datastore}"

    @property
    def dir(self) -> Path:
        return cache_dir() / "images" / self.name / self.key[:16]


def spec_for(ds: Datastore, os_name: str, environ: dict | None = None) -> ImageSpec:
    """What to build for ds on os_name; CannotRunHere when this machine cannot."""
    environ = os.environ if environ is None else environ
    names = [o.name for o in ds.supported_os]
    if os_name not in names:
        raise UsageError(f"{ds.name} names no supported OS {os_name!r}",
                         fix=f"one of: {', '.join(names) or 'none'}")
    os_ = ds.os(os_name)
    env = {k: environ[k] for k in PASSED_ENV if environ.get(k)}
    env.update(mirror.mirrors(os_.family, environ=environ))
    env["DIB_RELEASE"] = os_.release
    elements = (BASE_ELEMENT[os_.family], *NAMESPACE_ELEMENTS, *os_.elements)
    key = content_hash(list(elements), env, dib_version())
    return ImageSpec(ds.name, os_, tuple(elements), env, key)


def os_for_version(ds: Datastore, version: str) -> list[str]:
    return list(ds.version(version).os)


@dataclass(frozen=True)
class Image:
    """A built image in the cache."""

    name: str
    dir: Path
    manifest: dict

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]

    @property
    def tar(self) -> Path:
        return self.dir / "image.tar"

    def ref(self) -> dict:
        """What run.json records."""
        return {"name": self.name, "sha256": self.sha256, "os": self.manifest["os"],
                "cache_key": self.manifest["cache_key"],
                "manifest": str(self.dir / "manifest.json")}

    def rootfs(self) -> Path:
        """The unpacked root filesystem (unpacked once, then shared read-only)."""
        root = self.dir / "rootfs"
        done = self.dir / ".unpacked"
        if done.exists():
            return root
        tmp = self.dir / f"rootfs.tmp{os.getpid()}"
        subprocess.run(["rm", "-rf", str(tmp)], check=False)
        tmp.mkdir()
        proc = subprocess.run(["tar", "--numeric-owner", "-xpf", str(self.tar), "-C", str(tmp)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise CannotRunHere(f"cannot unpack image {self.name}: {proc.stderr.strip()[-300:]}",
                                fix="run as root, or rebuild: trove-verify image build")
        for d in ("proc", "sys", "dev", "run", "tmp"):
            (tmp / d).mkdir(exist_ok=True)
        if root.exists():
            subprocess.run(["rm", "-rf", str(root)], check=False)
        tmp.rename(root)
        done.touch()
        return root


def cached(spec: ImageSpec) -> Image | None:
    """The cached image for spec, or None. No rehash of the tar: the manifest
    holds its sha256 and the size must still match."""
    manifest_file = spec.dir / "manifest.json"
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, ValueError):
        return None
    tar = spec.dir / "image.tar"
    if not tar.is_file() or tar.stat().st_size != manifest.get("size"):
        return None
    return Image(spec.name, spec.dir, manifest)


def installed_packages(rootfs_or_status: Path) -> dict[str, str]:
    """Package → version from a root filesystem's dpkg status file."""
    status = rootfs_or_status
    if status.is_dir():
        status = status / "var/lib/dpkg/status"
    packages: dict[str, str] = {}
    for para in status.read_text(errors="replace").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in para.splitlines()
                      if ": " in line and not line.startswith(" "))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            packages[fields["Package"]] = fields.get("Version", "")
    return dict(sorted(packages.items()))
