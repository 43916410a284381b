"""Trove guests: what the box's emulated Nova boots for servers.create.

A Trove guest is a namespace guest (verify/guests/namespace.py: overlayfs
root, own network namespace on a veth /30, memory cgroup, a loop device as
the data volume) booted from the Trove guest image, with what a VM would
have and Trove's guest agent needs: /sys with the cgroup hierarchies, the
data volume as the raw block device Trove formats itself (/dev/vdb, Trove's
``device_path``), the files Trove sends as cloud-init ``write_files``, its own
dockerd (data root inside the guest's private directory, containers under a
cgroup of their own), the datastore container images loaded from the box's
archives, and ``trove-guestagent --config-dir=/etc/trove/conf.d``.

The init enters the guest's network namespace with ``nsenter --net`` (not
``ip netns exec``, which remounts /sys and leaves dockerd without cgroups).
Everything (processes, cgroups, netns, veth, loop device, directories) is in
the ledger before it exists; stop() leaves none of it. Logs (the agent's,
dockerd's) live outside the guest's directory so they outlive it for the
evidence bundle.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verify import redact
from verify.box import containers
from verify.box.docker_seed import DockerSeed
from verify.errors import EngineError, InfraError, UsageError, WaitTimeout
from verify.guests.namespace import NamespaceGuest
from verify.guests.nshost import cgroup_base, sh
from verify.guests.process import SAFE_ENV, wait_or_kill
from verify.images import Image
from verify.settings import work_dir
from verify.state import Ledger

DEVICE = "/dev/vdb"                 # Trove's default device_path
AGENT = "/opt/trove-guestagent/bin/trove-guestagent"
CONF_DIR = "/etc/trove/conf.d"
# options whose values the guest's files hold in clear
SECRET_OPTIONS = ("instance_rpc_encr_key", "transport_url")
IMAGES_IN_GUEST = "/var/cache/trove-verify/containers"
OWN_ADDRESS_PROBE = "192.0.2.0/24"   # where oslo_utils.netutils.get_my_ipv4 routes to
# docker image repository -> catalog datastore (Trove's docker_image defaults)
REPOS = {c.repo: ds for ds, c in containers.CONTRACTS.items()}

INIT = r"""set -e
R="$1"; H="$2"
mount -t overlay overlay -o "lowerdir=$3,upperdir=$4,workdir=$5" "$R"
mount -t proc proc "$R/proc"
mount -t sysfs sysfs "$R/sys"
mount --rbind /sys/fs/cgroup "$R/sys/fs/cgroup"
mount -t tmpfs -o mode=755,size=4m,nosuid tmpfs "$R/dev"
for n in null zero full random urandom tty; do
  : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
: > "$R$6"; mount --bind "$7" "$R$6"
mkdir -p "$R/dev/shm" "$R/dev/pts" "$R/dev/mqueue"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
ln -s pts/ptmx "$R/dev/ptmx"; ln -s /proc/self/fd "$R/dev/fd"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
mkdir -p "$R/var/lib/docker" "$R/var/log/trove" "$R$IMAGES"
mount --bind "$8" "$R/var/lib/docker"
mount --bind "$9" "$R/var/log/trove"
mount --bind "$ARCHIVES" "$R$IMAGES"; mount -o remount,bind,ro "$R$IMAGES"
hostname "$H"
# pivot_root, not only chroot: the mount namespace's root must be the guest's,
# or a process that joins it (docker exec, the containers' health checks)
# lands in the host's root filesystem
mkdir -p "$R/.oldroot"
cd "$R"
pivot_root . .oldroot
exec chroot . /bin/sh -c 'umount -l /.oldroot && rmdir /.oldroot
trap "exit 0" TERM; while :; do sleep 3600 & wait; done'
"""


@dataclass
class TroveGuestSpec:
    """What servers.create asks for, as the box's Nova emulator passes it."""

    server_id: str
    name: str
    files: dict[str, str] = field(default_factory=dict)   # cloud-init write_files
    memory_mb: int = 1024
    volume_gb: int = 2
    # a Cinder volume's file (the emulator's), or None: the flavor's
    # ephemeral disk, made in the guest's own directory
    volume_path: Path | None = None
    docker_images: list[str] = field(default_factory=list)   # e.g. ["mariadb:10.11"]
    # plain-HTTP registries dockerd may ask (the box's, for Trove's backup images)
    insecure_registries: list[str] = field(default_factory=list)
    # "<registry>/<repo>:<tag>@<digest>": pulled once into the docker seed
    # (Trove's agent pulls its backup image before every backup and restore)
    pull_images: list[str] = field(default_factory=list)


def archive_for(image: str, say: Callable[[str], None] = print) -> containers.ContainerImage:
    """The box's archive for a docker image name Trove will ask for."""
    repo, _, tag = image.partition(":")
    if repo not in REPOS or not tag:
        raise UsageError(f"no container image {image!r} can be built here",
                         fix=f"one of {', '.join(f'{r}:<version>' for r in REPOS)}")
    built, _ = containers.build(REPOS[repo], tag, say=say)
    return built


class TroveGuest(NamespaceGuest):
    """A booted Trove guest: .address, .stop(), .log_paths(), .alive()."""

    name = "trove"

    def __init__(self, spec: TroveGuestSpec, ledger: Ledger, *, image: Image,
                 timeout: float = 60.0):
        self.spec = spec
        self.log_dir = work_dir() / "box" / "logs" / f"guest-{spec.server_id}"
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.agent: subprocess.Popen | None = None
        self.agent_stopped = False     # by a fault (verify/box/faults.py), not dead
        self.dockerd: subprocess.Popen | None = None
        self.timings: dict[str, float] = {}
        super().__init__(spec.server_id, ledger, rootfs=image.rootfs(), image=image.ref(),
                         memory_mb=spec.memory_mb, volume_gb=spec.volume_gb, timeout=timeout)

    # the namespace guest's set-up, changed where a Trove guest differs --------
    def _make_volume(self) -> None:
        # a raw device: Trove's agent makes the filesystem itself (at start)
        if self.spec.volume_path is not None:
            self.volume = Path(self.spec.volume_path)   # Cinder's; it outlives the guest
        else:
            with open(self.volume, "wb") as fh:
                fh.truncate(self.volume_gb << 30)
        self._record("loop", str(self.volume))
        self.loop = sh("losetup", "-f", "--show", str(self.volume)).strip()

    def _make_network(self) -> None:
        super()._make_network()
        # Trove's agent finds its own address the way oslo's get_my_ipv4 does:
        # the source of a route to 192.0.2.0 (RFC 5737), else 127.0.0.1. A
        # guest without a default route told replicas to follow 127.0.0.1.
        # This route answers that lookup with the guest's address and keeps
        # any packet on the guest's own loopback: nothing leaves the guest.
        sh("ip", "-n", self.netns, "route", "add", OWN_ADDRESS_PROBE, "dev", "lo",
           "src", self.address)

    def _make_cgroup(self) -> None:
        super()._make_cgroup()
        # the containers' parent cgroup (dockerd --cgroup-parent), in every
        # hierarchy cgroupfs uses; the memory one has the flavor's limit too
        base, version = cgroup_base()
        self.docker_cgroup = f"trove-verify-{self.instance_id}-docker"
        roots = sorted({p.resolve() for p in base.parent.iterdir()
                        if (p / "cgroup.procs").exists()}) if version == "v1" else [base]
        for root in roots:     # runc makes them; the ledger must know them first
            self._record("cgroup", str(root / self.docker_cgroup))
        (base / self.docker_cgroup).mkdir(exist_ok=True)
        limit = base / self.docker_cgroup / self._cgroup_file
        limit.write_text(str(self.memory_mb << 20))

    def _start_init(self, timeout: float) -> None:
        docker_root = self.dir / "docker"
        docker_root.mkdir(exist_ok=True, mode=0o700)
        archives = containers.cache_dir() / "containers"
        archives.mkdir(parents=True, exist_ok=True)
        argv = ["nsenter", f"--net=/run/netns/{self.netns}", "unshare", "--mount", "--pid",
                "--uts", "--ipc", "--fork", "--propagation", "private", "--", "sh", "-c", INIT,
                "init", str(self.root), self.spec.name[:60] or self.instance_id[:60],
                self.lower, str(self.dir / "upper"), str(self.dir / "work"), DEVICE, self.loop,
                str(docker_root), str(self.log_dir)]
        env = dict(SAFE_ENV, ARCHIVES=str(archives), IMAGES=IMAGES_IN_GUEST)
        self.init = subprocess.Popen(self._in_cgroup(argv), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True, env=env)
        self._record("process", self.init.pid, cmd="trove-guest-init")
        deadline = time.monotonic() + timeout
        while True:
            self.init_pid = self._chrooted_child()
            if self.init_pid:
                return
            if self.init.poll() is not None:
                raise EngineError("trove guest init failed: "
                                  + self.init.stderr.read().decode(errors="replace")[-300:])
            if time.monotonic() > deadline:
                raise WaitTimeout(f"trove guest init not ready within {timeout:.0f}s")
            time.sleep(0.01)

    def _chrooted_child(self) -> int | None:
        """init's child once it has pivoted into the guest's root (its root is
        no longer the host's, whatever path the kernel shows for it)."""
        try:
            children = Path(f"/proc/{self.init.pid}/task/{self.init.pid}/children").read_text()
            host = os.stat("/")
        except OSError:
            return None
        for pid in children.split():
            try:
                root = os.stat(f"/proc/{pid}/root")
                if (root.st_dev, root.st_ino) != (host.st_dev, host.st_ino) and \
                        not Path(f"/proc/{pid}/root/.oldroot").exists():
                    return int(pid)
            except OSError:
                continue
        return None

    # boot ----------------------------------------------------------------------
    def _spawn_root(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = self.log_dir / log_name
        with open(log, "ab") as out:
            proc = subprocess.Popen(self._enter(argv, as_root=True), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=dict(SAFE_ENV, HOME="/root"), start_new_session=True)
        self._record("process", proc.pid, cmd=Path(argv[0]).name)
        return proc

    def write_files(self, files: dict[str, str]) -> None:
        """cloud-init write_files: root-owned, private (they hold secrets).
        The RPC key and the transport URL in them are registered for
        redaction: the agent's debug log prints the key in clear."""
        for guest_path, content in files.items():
            for line in content.splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() in SECRET_OPTIONS:
                    redact.register(value.strip())
            if not guest_path.startswith("/") or ".." in Path(guest_path).parts:
                raise UsageError(f"write_files path {guest_path!r} is not an absolute path")
            self.run(["mkdir", "-p", str(Path(guest_path).parent)], timeout=30, as_root=True)
            path = self.path(guest_path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o640)
            with os.fdopen(fd, "w") as fh:
                fh.write(content)

    def start_dockerd(self, timeout: float) -> None:
        self.dockerd = self._spawn_root(
            ["dockerd", "--data-root=/var/lib/docker", "--exec-root=/run/docker",
             "--pidfile=/run/docker.pid", "--host=unix:///var/run/docker.sock",
             "--storage-driver=overlay2", f"--cgroup-parent=/{self.docker_cgroup}",
             "--log-level=warn",
             *(f"--insecure-registry={r}" for r in self.spec.insecure_registries)],
            "dockerd.log")
        deadline = time.monotonic() + timeout
        while self.run(["docker", "version", "--format", "{{.Server.Version}}"],
                       timeout=timeout, check=False, as_root=True).returncode != 0:
            if self.dockerd.poll() is not None or time.monotonic() > deadline:
                raise InfraError(f"trove guest {self.instance_id}: dockerd did not start "
                                 f"within {timeout:.0f}s", fix=f"see {self.log_dir}/dockerd.log")
            time.sleep(0.3)

    def load_image(self, archive: containers.ContainerImage, timeout: float) -> None:
        rel = archive.tar.relative_to(containers.cache_dir() / "containers")
        self.run(["docker", "load", "--quiet", "--input", f"{IMAGES_IN_GUEST}/{rel}"],
                 timeout=timeout, as_root=True)

    def pull_image(self, ref: str, timeout: float) -> None:
        """`docker pull` by digest, tagged as Trove's agent names it, so its own
        pull finds the image up to date (best effort: the agent pulls anyway)."""
        name, _, _digest = ref.partition("@")
        out = self.run(["docker", "pull", "--quiet", ref], timeout=timeout, check=False,
                       as_root=True)
        if out.returncode == 0:
            self.run(["docker", "tag", ref, name], timeout=60, check=False, as_root=True)

    def start_agent(self) -> None:
        self.agent = self._spawn_root([AGENT, f"--config-dir={CONF_DIR}"],
                                      "guestagent-stdout.log")

    # the interface the box uses ---------------------------------------------------
    def log_paths(self) -> dict[str, Path]:
        """The guest agent's log(s) and dockerd's, on the host (they outlive stop)."""
        found = {p.name: p for p in sorted(self.log_dir.glob("*")) if p.is_file()}
        return found

    def alive(self) -> bool:
        return (self.init is not None and self.init.poll() is None
                and (self.agent_stopped
                     or self.agent is not None and self.agent.poll() is None))

    def rss_bytes(self) -> int:
        """Resident memory of every process of the guest, containers included."""
        base, _ = cgroup_base()
        total = 0
        for cg in (self.cgroup, base / self.docker_cgroup):
            for procs in [cg / "cgroup.procs", *cg.rglob("*/cgroup.procs")]:
                for pid in procs.read_text().split() if procs.exists() else []:
                    try:
                        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1]) << 10
                    except OSError:
                        continue
        return total

    def stop(self, timeout: float = 60.0) -> None:
        """Agent, containers, dockerd, then the namespace guest: nothing stays."""
        if self.agent is not None and self.agent.poll() is None and self.init_alive():
            self._terminate(self.agent, 10)
        if self.dockerd is not None and self.dockerd.poll() is None and self.init_alive():
            ids = self.run(["docker", "ps", "-aq"], timeout=30, check=False, as_root=True)
            if ids.returncode == 0 and ids.stdout.split():
                self._save_container_logs(ids.stdout.decode().split())
                self.run(["docker", "rm", "-f", *ids.stdout.decode().split()], timeout=timeout,
                         check=False, as_root=True)
            self._terminate(self.dockerd, 20)
        self.destroy()

    def _save_container_logs(self, ids: list[str]) -> None:
        """The datastore's own log (its container's output) outlives the guest:
        a server that refuses Trove's configuration says why only there."""
        for cid in ids:
            out = self.run(["docker", "logs", "--timestamps", cid], timeout=30, check=False,
                           as_root=True)
            name = self.run(["docker", "inspect", "--format", "{{.Name}}", cid], timeout=30,
                            check=False, as_root=True).stdout.decode().strip().lstrip("/")
            with open(self.log_dir / f"container-{name or cid}.log", "ab") as fh:
                fh.write(out.stdout + (out.stderr or b""))

    def init_alive(self) -> bool:
        return self.init is not None and self.init.poll() is None

    def _terminate(self, proc: subprocess.Popen, grace: float) -> None:
        for pid in _children(proc.pid) or [proc.pid]:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        wait_or_kill(proc, grace)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def boot(spec: TroveGuestSpec, ledger: Ledger, *, image: Image | None = None,
         archives: list[containers.ContainerImage] | None = None, timeout: float = 120.0,
         seeds: Path | None = None, say: Callable[[str], None] = lambda _: None) -> TroveGuest:
    """Boot a Trove guest: namespace guest, write_files, dockerd, images, agent.

    image: the Trove guest image (default: `trove-verify image build
    trove-guest`'s, from the cache or built now). archives: the container
    images to load (default: built or taken from the cache for
    spec.docker_images). seeds: a directory (the box's, removed with it)
    where the first guest of an image leaves its loaded docker data root for
    the next ones (DockerSeed). On any failure everything started is stopped
    and InfraError names the guest's log directory."""
    started = time.monotonic()
    if image is None:
        from verify.images import trove_guest

        image, _ = trove_guest.build(say=say)
    archives = archives if archives is not None else [
        archive_for(name, say) for name in spec.docker_images]
    found = time.monotonic() - started      # images looked up (cache hits)
    guest = TroveGuest(spec, ledger, image=image)
    guest.timings["images_found_s"] = found
    try:
        guest.timings["namespace_s"] = time.monotonic() - started
        guest.write_files(spec.files)
        seed = DockerSeed(seeds, archives, spec.pull_images) \
            if seeds is not None and archives else None
        # guests booted together wait for the first one's seed rather than
        # each loading and pulling the same images at once
        with seed.lock(timeout) if seed else contextlib.nullcontext(False) as held:
            seeded = held and seed.plant(guest.dir / "docker")
            if not seeded:
                guest.start_dockerd(timeout)
                guest.timings["dockerd_s"] = time.monotonic() - started
                for archive in archives:
                    guest.load_image(archive, timeout)
                if held:
                    for ref in spec.pull_images:
                        guest.pull_image(ref, timeout)
                    seed.keep(guest.dir / "docker")
        if seeded:
            guest.start_dockerd(timeout)
            guest.timings["dockerd_s"] = time.monotonic() - started
        guest.timings["images_s"] = time.monotonic() - started
        guest.start_agent()
        guest.timings["agent_started_s"] = time.monotonic() - started
    except BaseException as exc:
        guest.stop()
        if isinstance(exc, EngineError) and not isinstance(exc, InfraError):
            raise InfraError(f"trove guest {spec.server_id} did not boot: {exc.what}",
                             fix=f"logs in {guest.log_dir}") from exc
        raise
    return guest
