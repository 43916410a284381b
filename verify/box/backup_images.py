"""Trove's backup container images, built from Trove's own ``backup/``.

Trove 26's guest agent runs every backup and restore in a container of the
datastore's ``backup_docker_image`` (tagged with the datastore version:
``<repo>:10.11``), as ``python3 main.py --backup ...`` in ``/opt/trove/backup``.
Upstream builds that image with ``backup/Dockerfile``, which fetches vendor
repositories no reachable archive serves. Here the image is the datastore's
own guest image (built from elements/ with Debian's packages: mariadb-backup
and mbstream for mariadb, PostgreSQL's client tools for postgresql) plus one
layer: ``backup/`` from the Trove sdist at /opt/trove/backup, and the Python
packages of its requirements.txt, as wheels for the image's Python, at
/opt/trove-backup/site-packages. Written as a ``docker load`` archive (no
build daemon), cached by a content hash of every input, with a manifest.

MySQL's driver needs percona-xtrabackup, which no reachable archive packages
for MySQL 8/9: no image for it (UNSUPPORTED says so).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

from verify.box import containers
from verify.errors import CannotRunHere, UsageError
from verify.images import Image
from verify.images.pip_cache import pip_into
from verify.settings import cache_dir

TROVE_VERSION = "26.0.0"
SITE = "/opt/trove-backup/site-packages"
WORKDIR = "/opt/trove/backup"
# datastore -> (repo for backup_docker_image, Trove's backup_strategy, tools the driver runs)
BACKUP = {
    "mariadb": ("trove-backup-mariadb", "mariabackup", ("mariadb-backup", "mbstream")),
    "postgresql": ("trove-backup-postgresql", "pg_basebackup", ("pg_basebackup", "psql")),
}
# the wheels' platforms a Debian bookworm/trixie image runs (glibc 2.36+):
# pip does not widen an explicit --platform to the older manylinux tags
PLATFORMS = ("linux_x86_64", "manylinux1_x86_64", "manylinux2010_x86_64",
             "manylinux2014_x86_64", *(f"manylinux_2_{n}_x86_64" for n in range(5, 37)))
# what the box builds (cached) and pushes into its fresh registry at every
# `box up`
IN_THE_BOX = ("mariadb", "postgresql")
UNSUPPORTED = {
    "mysql": "Trove's MySQL backup driver runs percona-xtrabackup, which no reachable "
             "package archive provides for MySQL 8/9",
}


def sdist_backup_dir(version: str = TROVE_VERSION) -> Path:
    """backup/ of the Trove sdist (downloaded once into the cache)."""
    from verify.inspect import sdist
    path = sdist.tree(version) / "backup"
    if not (path / "main.py").is_file():
        raise UsageError(f"the trove=={version} sdist has no backup/main.py", where=str(path))
    return path


def _python_version(rootfs: Path) -> str:
    found = sorted(p.name[len("python"):] for p in (rootfs / "usr" / "bin").glob("python3.*")
                   if p.name[len("python3."):].isdigit())
    if not found:
        raise UsageError(f"the base image {rootfs} has no python3: Trove's backup "
                         "container runs python3 main.py")
    return found[-1]


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def site_packages(requirements: Path, python: str, say: Callable[[str], None],
                  timeout: float = 900) -> Path:
    """The packages of requirements.txt as installed files for CPython
    `python` on manylinux x86_64 (binary wheels only: nothing compiles),
    cached by the requirements' and the target's hash."""
    key = hashlib.sha256(requirements.read_bytes() + python.encode()).hexdigest()[:16]
    out = cache_dir() / "wheels" / f"trove-backup-py{python}-{key}"
    tag = python.replace(".", "")
    return pip_into(out, ["install", "-q", "--no-compile", "--target", "{out}",
                          "--only-binary=:all:", "--implementation", "cp",
                          "--python-version", python, "--abi", f"cp{tag}", "--abi", "abi3",
                          "--abi", "none", *[a for p in PLATFORMS for a in ("--platform", p)],
                          "-r", str(requirements)],
                    f"trove backup image: {requirements.name} for Python {python}", say, timeout)


def _layer(backup: Path, site: Path) -> bytes:
    """backup/ (without its tests) and the site-packages, as a deterministic tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(arcname: str) -> None:
            info = tarfile.TarInfo(arcname)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)

        def add_tree(root: Path, prefix: str) -> None:
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root)
                if rel.parts[0] in ("tests", ".complete") or "__pycache__" in rel.parts:
                    continue
                info = tar.gettarinfo(str(path), arcname=f"{prefix}/{rel}")
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if path.is_file() and not path.is_symlink():
                    info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
                    with open(path, "rb") as fh:
                        tar.addfile(info, fh)
                else:
                    tar.addfile(info)
        for d in ("opt", "opt/trove", "opt/trove-backup"):
            add_dir(d)
        add_tree(backup, WORKDIR.lstrip("/"))
        add_tree(site, SITE.lstrip("/"))
    return buf.getvalue()


def _config(name: str, base: Image, diff_ids: list[str], inputs: dict) -> bytes:
    config = {
        "architecture": "amd64", "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    f"PYTHONPATH={SITE}", "LANG=C.UTF-8"],
            "WorkingDir": WORKDIR,
            "Cmd": ["python3", "main.py", "--help"],
            "Labels": {"org.trove-verify.base-image": base.name,
                       "org.trove-verify.base-sha256": base.sha256,
                       "org.trove-verify.trove-backup": inputs["trove"]},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"trove-verify guest image {base.name}"},
                    {"created_by": f"trove=={inputs['trove']} backup/ and its requirements"}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def build(datastore: str, version: str, *, say: Callable[[str], None] = print,
          base: Image | None = None,
          backup_dir: Path | None = None) -> tuple[containers.ContainerImage, bool]:
    """The backup image for datastore version, cached or built. (image, hit)"""
    if datastore in UNSUPPORTED:
        raise CannotRunHere(f"no backup image for {datastore}: {UNSUPPORTED[datastore]}")
    if datastore not in BACKUP:
        raise UsageError(f"Trove 26 has no backup container for {datastore!r}",
                         fix=f"one of: {', '.join(BACKUP)}")
    repo, _strategy, tools = BACKUP[datastore]
    base = base or containers.base_image(datastore, version, say)
    root = base.rootfs()
    missing = [t for t in tools if not any((root / d / t).exists()
                                           for d in ("usr/bin", "bin", "usr/sbin"))
               and not list(root.glob(f"usr/lib/postgresql/*/bin/{t}"))]
    if missing:
        raise UsageError(f"{base.name} lacks {', '.join(missing)}, which Trove's "
                         f"{datastore} backup driver runs", where="backup image",
                         fix=f"add them to the {datastore} element's packages")
    backup_dir = backup_dir or sdist_backup_dir()
    python = _python_version(root)
    inputs = {"trove": TROVE_VERSION, "backup_tree": _tree_hash(backup_dir),
              "requirements": hashlib.sha256(
                  (backup_dir / "requirements.txt").read_bytes()).hexdigest(),
              "python": python, "base": base.sha256}
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    name = f"{repo}:{version}"
    out = cache_dir() / "containers" / f"{repo}-{version}" / key
    if (hit := containers._cached(out, name)) is not None:
        return hit, True
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (hit := containers._cached(out, name)) is not None:
            return hit, True
        site = site_packages(backup_dir / "requirements.txt", python, say)
        return _write(out, name, base, _layer(backup_dir, site), inputs, say), False


def _write(out: Path, name: str, base: Image, layer: bytes, inputs: dict,
           say: Callable[[str], None]) -> containers.ContainerImage:
    layer_sha = hashlib.sha256(layer).hexdigest()
    config = _config(name, base, [f"sha256:{base.sha256}", f"sha256:{layer_sha}"], inputs)
    built = containers.write_archive(out, name, base, layer, config,
                                     {"layer_size": len(layer), "inputs": inputs})
    say(f"{name}: backup image built in {built.manifest['build_s']:.0f}s from {base.name} "
        f"and trove=={inputs['trove']} backup/, sha256 {built.manifest['sha256'][:16]}…")
    return built
