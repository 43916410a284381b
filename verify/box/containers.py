"""Datastore container images for Trove's guest agent, built here.

No registry is reachable, so the images Trove 26's agent runs
(``<docker_image>:<datastore version>``: ``mariadb:10.11``, ``postgres:15``,
``mysql:9.7``...) are made from the datastore's own cached guest image (built
from elements/ with Debian's packages) plus a layer holding the
``trove-datastore-container`` element's entry point and health check. The
result is a ``docker load`` archive written directly (no build daemon: a
docker archive is a tar of layers, a config and a manifest), cached by a
content hash of its inputs, with a manifest giving its sha256.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from verify import catalog
from verify.errors import UsageError
from verify.images import Image, elements_dir, spec_for
from verify.images.build import build as build_image
from verify.settings import cache_dir

ELEMENT = "trove-datastore-container"
SECOND = 1_000_000_000
SERVICE_UID = 1001      # Trove 26's database_service_uid/gid default


@dataclass(frozen=True)
class Contract:
    """What Trove 26's agent expects of the official image for a datastore."""

    repo: str                       # Trove's default docker_image option
    cmd: tuple[str, ...]
    healthcheck: tuple[str, ...]
    port: int


CONTRACTS = {
    "mariadb": Contract("mariadb", ("mariadbd",),
                        ("CMD", "healthcheck.sh", "--connect", "--innodb_initialized"), 3306),
    "mysql": Contract("mysql", ("mysqld",),
                      ("CMD-SHELL", 'mysqladmin ping -h 127.0.0.1 -u root '
                       '--password="$MYSQL_ROOT_PASSWORD"'), 3306),
    "postgresql": Contract("postgres", ("postgres",), ("CMD", "pg_isready", "-U", "postgres"),
                           5432),
}


@dataclass(frozen=True)
class ContainerImage:
    name: str           # repo:tag as Trove asks for it
    dir: Path
    manifest: dict

    @property
    def tar(self) -> Path:
        return self.dir / "image.tar"

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]

    def ref(self) -> dict:
        """What run.json records."""
        return {"name": self.name, "sha256": self.sha256,
                "base": self.manifest["base"], "manifest": str(self.dir / "manifest.json")}


def _account_files(rootfs: Path) -> dict[str, bytes]:
    """/etc/passwd and /etc/group naming Trove's database service uid/gid:
    initdb (and other tools) refuse to run as a uid without a name."""
    out = {}
    for name, line in (("passwd", f"database:x:{SERVICE_UID}:{SERVICE_UID}:Trove database "
                                  "service:/var/lib/postgresql:/usr/sbin/nologin\n"),
                       ("group", f"database:x:{SERVICE_UID}:\n")):
        path = rootfs / "etc" / name
        text = path.read_text() if path.is_file() else ""
        if not any(f.split(":")[2:3] == [str(SERVICE_UID)] for f in text.splitlines()):
            text = (text if text.endswith("\n") or not text else text + "\n") + line
        out[f"etc/{name}"] = text.encode()
    return out


def _static_layer(rootfs: Path) -> bytes:
    """The element's static tree and the service account, as a deterministic
    tar (fixed owner/mtime)."""
    root = elements_dir() / ELEMENT / "static"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for arcname, data in _account_files(rootfs).items():
            info = tarfile.TarInfo(arcname)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(root)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if path.is_file():
                with open(path, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    return buf.getvalue()


def _config(contract: Contract, base: Image, diff_ids: list[str], env_path: str) -> bytes:
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {
            "Env": [f"PATH={env_path}", "LANG=C.UTF-8"],
            "Entrypoint": ["/usr/local/bin/docker-entrypoint.sh"],
            "Cmd": list(contract.cmd),
            "ExposedPorts": {f"{contract.port}/tcp": {}},
            "Healthcheck": {"Test": list(contract.healthcheck), "Interval": 10 * SECOND,
                            "Timeout": 5 * SECOND, "StartPeriod": 10 * SECOND, "Retries": 3},
            "Labels": {"org.trove-verify.base-image": base.name,
                       "org.trove-verify.base-sha256": base.sha256},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"trove-verify guest image {base.name}"},
                    {"created_by": f"trove-verify element {ELEMENT}"}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def base_image(datastore: str, version: str, say: Callable[[str], None]) -> Image:
    """The datastore's guest image for version (cached, or built now)."""
    ds = catalog.default().get(datastore)
    names = [o for o in ds.version(version).os if ds.os(o).family == "debian"]
    if not names:
        raise UsageError(f"{datastore} {version} names no Debian image to build a "
                         "container image from")
    image, _ = build_image(spec_for(ds, names[0]), say=say)
    return image


def build(datastore: str, version: str, *, say: Callable[[str], None] = print,
          base: Image | None = None) -> tuple[ContainerImage, bool]:
    """The container image for datastore version: cached or built. (image, hit)"""
    if datastore not in CONTRACTS:
        raise UsageError(f"Trove 26's guest agent runs no container for {datastore!r}",
                         fix=f"one of: {', '.join(CONTRACTS)}")
    contract = CONTRACTS[datastore]
    base = base or base_image(datastore, version, say)
    layer = _static_layer(base.rootfs())
    layer_sha = hashlib.sha256(layer).hexdigest()
    root = base.rootfs()
    bindirs = ":".join(f"/{p.relative_to(root)}"
                       for p in sorted(root.glob("usr/lib/postgresql/*/bin")))
    env_path = ":".join(filter(None, [bindirs, "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                                "/usr/bin:/sbin:/bin"]))
    diff_ids = [f"sha256:{base.sha256}", f"sha256:{layer_sha}"]
    config = _config(contract, base, diff_ids, env_path)
    config_sha = hashlib.sha256(config).hexdigest()
    name = f"{contract.repo}:{version}"
    out = cache_dir() / "containers" / f"{contract.repo}-{version}" / config_sha[:16]
    if (hit := _cached(out, name)) is not None:
        return hit, True
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (hit := _cached(out, name)) is not None:
            return hit, True
        built = write_archive(out, name, base, layer, config, {"element": ELEMENT})
        say(f"{name}: container image built in {built.manifest['build_s']:.0f}s from "
            f"{base.name}, sha256 {built.manifest['sha256'][:16]}…")
        return built, False


def _cached(out: Path, name: str) -> ContainerImage | None:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if (out / "image.tar").stat().st_size != manifest.get("size"):
        return None
    return ContainerImage(name, out, manifest)


def write_archive(out: Path, name: str, base: Image, layer: bytes, config: bytes,
                  extra: dict) -> ContainerImage:
    """A `docker load` archive of base + one layer under out (atomically:
    built beside it, then renamed), with its manifest (extra added). The
    caller holds out's lock and says what it built."""
    started = time.monotonic()
    layer_sha = hashlib.sha256(layer).hexdigest()
    config_sha = hashlib.sha256(config).hexdigest()
    work = out.with_name(out.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    docker_manifest = [{"Config": f"{config_sha}.json", "RepoTags": [name],
                        "Layers": [f"{base.sha256}/layer.tar", f"{layer_sha}/layer.tar"]}]

    def add(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
        info = tarfile.TarInfo(arcname)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(work / "image.tar", mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(str(base.tar), arcname=f"{base.sha256}/layer.tar", recursive=False,
                filter=_plain)
        add(tar, f"{layer_sha}/layer.tar", layer)
        add(tar, f"{config_sha}.json", config)
        add(tar, "manifest.json", json.dumps(docker_manifest).encode())
    digest = hashlib.sha256()
    with open(work / "image.tar", "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    manifest = {
        "name": name, "sha256": digest.hexdigest(), "size": (work / "image.tar").stat().st_size,
        "image_id": f"sha256:{config_sha}",
        "base": {"name": base.name, "sha256": base.sha256},
        "layer_sha256": layer_sha, **extra,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_s": round(time.monotonic() - started, 1),
    }
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    work.rename(out)
    return ContainerImage(name, out, manifest)


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode, info.mtime = 0o644, 0
    return info

