"""Namespace guests: a DIB image's root filesystem, entered with chroot.

Per instance: an overlayfs root over the image unpacked once; a network
namespace joined to the host by a veth pair on its own /30 (a private range,
only ever talking to addresses inside namespaces the harness made); a guest
init in new mount/pid/uts/ipc namespaces with proc, dev and tmpfs mounted;
a memory cgroup sized from the flavor; and a data volume that is a real ext4
filesystem image of the requested size, loop-mounted, so resize really grows
it. Every mount, netns, veth, cgroup and directory is recorded in the Ledger
before it exists; destroy() and `trove-verify cleanup` release all of it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from verify import deadline
from verify.engines.base import STOP_GRACE
from verify.errors import CannotRunHere, EngineError, InfraError, PermissionNeeded, WaitTimeout
from verify.guests import nsrelease  # noqa: F401  (registers the ledger's releasers)
from verify.guests.alloc import claim_link, release_link
from verify.guests.base import Guest
from verify.guests.namespace_faults import NamespaceFaults
from verify.guests.namespace_volume import DATA_ROOT, VOLUME_OPTIONS, NamespaceVolume
from verify.guests.nshost import (
    cgroup_base,
    group_members,
    plumb_link,
    sh,
    unavailable,
)
from verify.guests.process import SAFE_ENV
from verify.settings import SERVICE_USER, work_dir
from verify.state import Ledger, release

INIT = r"""set -e
R="$1"; H="$2"; DATA="$R/var/lib/trove-verify"
# every mount below lives in this private mount namespace only: nothing shows
# in the host's mount table, and all of it goes when the guest's init dies
mount -t overlay overlay -o "lowerdir=$3,upperdir=$4,workdir=$5" "$R"
mkdir -p "$DATA"
mount -o "$9" "$6" "$DATA"
chown "$7" "$DATA"; chmod 750 "$DATA"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=755,size=4m,nosuid tmpfs "$R/dev"
for n in null zero full random urandom tty; do
  : > "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir -p "$R/dev/shm" "$R/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
ln -s /proc/self/fd "$R/dev/fd"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
# the harness's backup store (Trove's object store, here a host directory)
# appears at the same path in every guest, so a backup made in one guest
# restores in another
mkdir -p "$R$8"; mount --bind "$8" "$R$8"
hostname "$H"
exec chroot "$R" /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 3600 & wait; done'
"""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class NamespaceGuest(NamespaceFaults, NamespaceVolume, Guest):
    kind = name = "namespace"
    host_binaries = False

    @classmethod
    def unavailable(cls, ds, version: str) -> str | None:
        """This machine must allow namespaces, and an image for the version
        must be buildable here."""
        from verify import engines
        from verify.guests import image_os
        from verify.images import spec_for

        engine = engines.load(ds.engine_module) if ds.engine_module else None
        own = engine.host_unavailable if engine is not None else None
        if own is not None and not ds.version(version).os:
            # no OS ships it: no image to build, only a binary the user has
            return own() or (f"cannot launch {ds.name} {version} on a {cls.kind} "
                             "guest: no OS ships it (use --guest process)")
        reason = unavailable()       # the machine's (nshost), not this method
        if reason:
            return f"{reason} (use --guest process)"
        reasons = []
        for os_name in image_os(ds, version):
            try:
                spec_for(ds, os_name)
                return None
            except CannotRunHere as exc:
                reasons.append(f"{os_name}: {exc}")
        return (f"no image for {ds.name} {version} can be built here"
                + (f" ({'; '.join(reasons)})" if reasons else ": the version names no OS"))

    @classmethod
    def prepare_images(cls, images, ds, versions: list[str], say=print) -> None:
        images.prepare(ds, versions, say)

    @classmethod
    def create(cls, instance_id: str, ledger: Ledger, *, images, version: str,
               memory_mb: int, volume_gb: int) -> NamespaceGuest:
        image = images.by_version.get(version)
        if image is None:
            raise CannotRunHere(f"no image prepared for version {version}")
        return cls(instance_id, ledger, rootfs=image.rootfs(), image=image.ref(),
                   memory_mb=memory_mb, volume_gb=volume_gb)

    def __init__(self, instance_id: str, ledger: Ledger, *, rootfs: Path, image: dict,
                 memory_mb: int, volume_gb: int, timeout: float = 30.0):
        reason = unavailable()
        if reason:
            raise PermissionNeeded(reason, fix="use --guest process")
        self.instance_id, self.ledger, self.image = instance_id, ledger, image
        self.memory_mb, self.volume_gb = memory_mb, volume_gb
        self.tag = uuid.uuid4().hex[:8]
        self.dir = work_dir() / "instances" / instance_id
        self.root = self.dir / "root"
        self.volume = self.dir / "volume.ext4"
        self.netns, self.host_if, self.cgroup = "", "", Path("/nonexistent")
        self._ports_given = 0
        self._link = None
        self._entries: list[dict] = []
        self._procs: dict[int, tuple[subprocess.Popen, dict]] = {}
        self.init: subprocess.Popen | None = None
        started = time.monotonic()
        try:
            self._build(rootfs, timeout)
            self.ready_s = time.monotonic() - started
        except EngineError as exc:
            self.destroy()
            raise InfraError(f"namespace guest {instance_id} could not be set up: {exc.what}",
                             fix=exc.fix) from exc
        except BaseException:
            self.destroy()
            raise

    # setup ------------------------------------------------------------------
    def _record(self, kind: str, value, **extra) -> dict:
        entry = self.ledger.add(kind, value, **extra)
        self._entries.append(entry)
        return entry

    def _build(self, rootfs: Path, timeout: float) -> None:
        self._record("dir", str(self.dir))
        (work_dir() / "instances").mkdir(parents=True, exist_ok=True)
        # root's alone: the upper layer holds the engine's config files, and
        # nothing of the guest is reached through this path by the service user
        self.dir.mkdir(mode=0o700, exist_ok=True)
        self.dir.chmod(0o700)
        for d in ("upper", "work", "root"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        self.lower = str(rootfs)
        self.uid, self.gid = self._service_account(rootfs)
        self._make_volume()
        self._make_cgroup()
        self._make_network()
        self._start_init(timeout)

    def _service_account(self, rootfs: Path) -> tuple[int, int]:
        for line in (rootfs / "etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == SERVICE_USER:
                return int(fields[2]), int(fields[3])
        raise EngineError(f"image {self.image.get('name')} has no {SERVICE_USER!r} user",
                          fix="rebuild it with the <os>-guest element")

    def _make_volume(self) -> None:
        # 0600: the raw image holds every byte the engine wrote, passwords included
        fd = os.open(self.volume, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.truncate(self.volume_gb << 30)      # sparse: real size, no real disk use
        sh("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", str(self.volume))
        # an explicit loop device: the guest mounts it, a resize grows it
        self._record("loop", str(self.volume))
        self.loop = sh("losetup", "-f", "--show", str(self.volume)).strip()

    def _make_cgroup(self) -> None:
        base, version = cgroup_base()
        self.cgroup = base / f"trove-verify-{self.instance_id}"
        self._record("cgroup", str(self.cgroup))
        self.cgroup.mkdir()
        self._cgroup_file = "memory.max" if version == "v2" else "memory.limit_in_bytes"
        self.resize_memory(self.memory_mb)

    def resize_memory(self, memory_mb: int) -> None:
        """The flavor's memory as the guest's limit (a resize changes it)."""
        (self.cgroup / self._cgroup_file).write_text(str(memory_mb << 20))
        self.memory_mb = memory_mb

    def _make_network(self) -> None:
        # the /30 and the names are claimed machine-wide (other runs, other
        # work dirs); the claim is in place before any of them exists
        self._link = claim_link(self.instance_id, self.tag)
        self.netns, self.host_if = self._link.netns, self._link.host_if
        self.tag = self.host_if[3:]
        host_ip, guest_ip = plumb_link(self._link, self._record)
        self.address = self.bind_address = str(guest_ip)
        self.host_address = str(host_ip)

    def _start_init(self, timeout: float) -> None:
        store = work_dir() / "backups"
        store.mkdir(parents=True, exist_ok=True)
        store.chmod(0o755)
        argv = ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--pid", "--uts",
                "--ipc", "--fork", "--propagation", "private", "--", "sh", "-c", INIT, "init",
                str(self.root), self.instance_id[:60], self.lower, str(self.dir / "upper"),
                str(self.dir / "work"), self.loop, f"{self.uid}:{self.gid}", str(store),
                VOLUME_OPTIONS]
        self.init = subprocess.Popen(self._in_cgroup(argv), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self._record("process", self.init.pid, cmd="guest-init")
        timeout = deadline.bound(timeout)   # a guest boot obeys the scenario's deadline
        end = time.monotonic() + timeout
        while True:
            self.init_pid = self._chrooted_child()
            if self.init_pid:
                return
            if self.init.poll() is not None:
                raise EngineError("namespace guest init failed: "
                                  + self.init.stderr.read().decode(errors="replace")[-300:])
            if time.monotonic() > end:
                raise WaitTimeout(deadline.cut_short("namespace guest init") or
                                  f"namespace guest init not ready within {timeout:.0f}s")
            time.sleep(0.01)

    def _chrooted_child(self) -> int | None:
        try:
            children = Path(f"/proc/{self.init.pid}/task/{self.init.pid}/children").read_text()
        except OSError:
            return None
        for pid in children.split():
            try:
                if os.readlink(f"/proc/{pid}/root") == str(self.root):
                    return int(pid)
            except OSError:
                continue
        return None

    def _in_cgroup(self, argv: list[str], umask: str = "022") -> list[str]:
        # the wrapper joins the cgroup, then execs: nothing runs outside the limit
        return ["sh", "-c", f'echo $$ > "$0/cgroup.procs" && umask {umask} && exec "$@"',
                str(self.cgroup), *argv]

    def _enter(self, argv: Sequence[str], as_root: bool = False) -> list[str]:
        who = [] if as_root else ["-S", str(self.uid), "-G", str(self.gid)]
        # what the engine writes itself (Redis's ACL SAVE, ALTER SYSTEM) is its own only
        return self._in_cgroup(["nsenter", "-t", str(self.init_pid), "-m", "-u", "-i", "-n",
                                "-p", "-r", "-w", *who, "--", *argv],
                               umask="022" if as_root else "077")

    # Runtime protocol -------------------------------------------------------------
    @property
    def data_root(self) -> str:
        return DATA_ROOT

    def path(self, guest_path: str) -> Path:
        # the guest's mounts exist only in its namespace: reach them through init
        return Path(f"/proc/{self.init_pid}/root") / guest_path.lstrip("/")

    def free_port(self) -> int:
        """The guest's network namespace is its own: nothing else holds ports
        there. The first caller (the server) gets 0, i.e. its default port;
        later callers (Galera's group/IST/SST ports) get distinct ones."""
        self._ports_given += 1
        return 0 if self._ports_given == 1 else 4565 + self._ports_given

    def port_free(self, port: int) -> bool:
        """The guest's own TCP table (its network namespace, read through its
        init) has no listener on port; the host's is irrelevant."""
        hex_port = f"{port:04X}"
        for table in ("tcp", "tcp6"):
            try:
                lines = Path(f"/proc/{self.init_pid}/net/{table}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if fields[1].rsplit(":", 1)[1] == hex_port and fields[3] == "0A":  # LISTEN
                    return False
        return True

    def make_dirs(self, *guest_paths: str, mode: int = 0o700) -> None:
        for p in guest_paths:
            path = self.path(p)
            path.mkdir(parents=True, exist_ok=True, mode=mode)
            os.chown(path, self.uid, self.gid)

    def write_file(self, guest_path: str, content: str, *, mode: int = 0o644) -> None:
        path = self.path(guest_path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)

    def _env(self, env: dict | None) -> dict:
        return dict(SAFE_ENV, HOME=DATA_ROOT, **(env or {}))

    def run(self, argv: Sequence[str], *, timeout: float, env: dict | None = None,
            input: bytes | None = None, check: bool = True,
            as_root: bool = False) -> subprocess.CompletedProcess:
        timeout = deadline.bound(timeout, STOP_GRACE)   # the scenario's time left
        proc = subprocess.Popen(self._enter(argv, as_root), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self._env(env), start_new_session=True)
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise WaitTimeout(deadline.cut_short(argv[0]) or
                              f"{argv[0]} did not finish within {timeout:.0f}s") from None
        result = subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
        if check and proc.returncode == 127 and b"No such file" in err:
            # chroot's word for a tool the guest image lacks: the image's fault
            raise InfraError(f"{argv[0]} is not in guest image {self.image.get('name', '?')}",
                             fix="rebuild it: trove-verify image build DATASTORE")
        if check and proc.returncode != 0:
            # some tools (pg_upgrade) say why on stdout only
            text = err.decode(errors="replace").strip() or out.decode(errors="replace").strip()
            lines = text.splitlines()[-8:]
            raise EngineError(f"{argv[0]} exited {proc.returncode} in the guest: "
                              + " | ".join(lines))
        return result

    def spawn(self, argv: Sequence[str], *, log_file: str,
              env: dict | None = None) -> subprocess.Popen:
        log_path = self.path(log_file)
        with open(log_path, "ab") as log:
            os.chown(log_path, self.uid, self.gid)
            proc = subprocess.Popen(self._enter(argv), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=self._env(env),
                                    start_new_session=True)
        entry = self.ledger.add("process", proc.pid, cmd=argv[0])
        self._procs[proc.pid] = (proc, entry)
        return proc

    def stop_process(self, proc: subprocess.Popen, *, timeout: float) -> None:
        timeout = deadline.bound(timeout, STOP_GRACE)
        # SIGTERM the engine only: nsenter would die of it at once and leave the
        # engine shutting down unobserved; it exits itself when its child does
        children = _children(proc.pid)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGCONT)   # a paused (SIGSTOPped) group must see it
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout if children else 0.5)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None or group_members(proc.pid):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            until = time.monotonic() + 10
            while group_members(proc.pid) and time.monotonic() < until:
                time.sleep(0.05)
        proc.wait(timeout=10)
        _, entry = self._procs.pop(proc.pid, (None, None))
        if entry:
            self.ledger.forget(entry)

    def switch_image(self, rootfs: Path, image: dict, *, keep_previous: bool = False) -> None:
        """Boot another image over the same data volume (Trove's datastore
        upgrade: a new guest image, the volume kept). Engines must be stopped.
        keep_previous layers the old image under the new one, for upgrades that
        run the old binaries once (pg_upgrade); the new image wins every path."""
        if self._procs:
            raise EngineError("stop the engine before switching the guest's image")
        self._stop_init()       # its mount namespace, overlay and volume mount go with it
        for d in ("upper", "work"):
            shutil.rmtree(self.dir / d)
            (self.dir / d).mkdir()
        self.lower = f"{rootfs}:{self.lower}" if keep_previous else str(rootfs)
        self.image = image
        old = (self.uid, self.gid)
        self.uid, self.gid = self._service_account(rootfs)
        self._start_init(30.0)
        if (self.uid, self.gid) != old:     # the service user's ids differ per image
            self.run(["chown", "-R", f"{self.uid}:{self.gid}", DATA_ROOT], timeout=120,
                     as_root=True)

    def _stop_init(self) -> None:
        if self.init is None:
            return
        try:
            os.killpg(self.init.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.init.wait(timeout=10)
        for entry in [e for e in self._entries if e["kind"] == "process"
                      and e["value"] == self.init.pid]:
            self.ledger.forget(entry)
            self._entries.remove(entry)
        self.init = None

    def leftovers(self, port: int = 0) -> list[str]:
        """What of this guest still exists on the host (empty after destroy).
        Its address is its own and gone: probing the port would send traffic
        off this machine, so the netns, veth and mounts are checked instead."""
        left = []
        if self.dir.exists():
            left.append(f"directory {self.dir}")
        if Path(f"/run/netns/{self.netns}").exists():
            left.append(f"netns {self.netns}")
        if Path(f"/sys/class/net/{self.host_if}").exists():
            left.append(f"veth {self.host_if}")
        if self.cgroup.exists():
            left.append(f"cgroup {self.cgroup}")
        if sh("losetup", "-j", str(self.volume)).strip():
            left.append(f"loop device on {self.volume}")
        return left

    # teardown ---------------------------------------------------------------------
    def destroy(self, timeout: float = 30.0) -> None:
        for proc, _ in list(self._procs.values()):
            self.stop_process(proc, timeout=timeout)
        release(self._entries, self.ledger.root)
        if self.init is not None and self.init.poll() is None:
            self.init.wait(timeout=10)
        for entry in self._entries:
            self.ledger.forget(entry)
        self._entries = []
        if getattr(self, "_link", None) is not None:
            release_link(self._link)
            self._link = None
