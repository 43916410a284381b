"""The embedded default: engines launched on this machine, in guests."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

from verify import deadline, engines, guests
from verify.backends.base import FLAVORS, Backend, Configuration, Instance
from verify.backends.local_faults import LocalFaults
from verify.backends.local_ops import LocalOps
from verify.catalog import Catalog, Datastore
from verify.engines.base import Client, Credentials, Identity
from verify.engines.capabilities import Backup
from verify.errors import CannotRunHere, NotSupported, UsageError
from verify.guests.base import OwnVolume, SwitchesImage
from verify.settings import Timeouts
from verify.state import Ledger


class LocalBackend(LocalOps, LocalFaults, Backend):
    name = "local"
    NOT_SUPPORTED = {
        "restart_agent": "the local backend has no guest agent: it drives engines itself",
        "revive_server": "the local backend heals a killed server with restart_instance",
    }

    def __init__(self, catalog: Catalog, *, guest: str, ledger: Ledger,
                 timeouts: Timeouts | None = None):
        self.guest_class = guests.guest_class(guest)     # an unknown kind: UsageError
        self.catalog = catalog
        self.guest = guest
        self.ledger = ledger
        self.timeouts = timeouts or Timeouts.from_env()
        self._lock = threading.Lock()
        self._live: dict[str, Instance] = {}
        self._configs: dict[str, Configuration] = {}
        self.images = guests.Images()

    @classmethod
    def from_run(cls, options, *, catalog, ledger, timeouts) -> LocalBackend:
        return cls(catalog, guest=options.guest, ledger=ledger, timeouts=timeouts)

    def prepare(self, ds: Datastore, versions: list[str], say=print) -> None:
        """Images for namespace guests, built or from the cache, before scenarios."""
        self.guest_class.prepare_images(self.images, ds, versions, say)

    def guest_kind(self) -> str:
        return self.guest

    def stand_in(self, ds: Datastore) -> str | None:
        """The stand-in engine this backend knowingly launches for ds, if any."""
        if ds.engine_module is None:
            return None
        probe = engines.load(ds.engine_module).stand_in
        return probe() if probe is not None else None

    # what can run here ------------------------------------------------------
    def unavailable(self, ds: Datastore, version: str | None = None) -> str | None:
        """Why ds (version) cannot be launched here, or None when it can."""
        if ds.engine_module is None:
            return (f"cannot launch {ds.name} here: no local engine for it in this harness "
                    f"(verify it through a Trove deployment: --backend trove)")
        if version is None:
            reasons = [self.unavailable(ds, v.name) for v in ds.versions]
            return reasons[0] if all(reasons) else None
        return self.guest_class.unavailable(ds, version)

    def flavors(self, datastore: str) -> list[str]:
        ds = self.catalog.get(datastore)
        floor = engines.load(ds.engine_module).min_memory_mb if ds.engine_module else 0
        return [f for f in super().flavors(datastore) if FLAVORS[f].memory_mb >= floor]

    # instances ------------------------------------------------------------
    def _new_instance(self, datastore: str, version: str, *, name: str,
                      flavor: str = "small", volume_gb: int = 1) -> Instance:
        """A guest and a configured, not yet started server."""
        ds = self.catalog.get(datastore)
        reason = self.unavailable(ds, version)
        if reason:
            raise CannotRunHere(reason)
        if flavor not in FLAVORS:
            raise UsageError(f"unknown flavor {flavor!r}", fix=f"one of {sorted(FLAVORS)}")
        if flavor not in self.flavors(datastore):
            raise UsageError(f"flavor {flavor} ({FLAVORS[flavor].memory_mb} MB) is too small "
                             f"for {datastore}", fix=f"one of {self.flavors(datastore)}")
        engine = engines.load(ds.engine_module)
        instance_id = f"{datastore}-{uuid.uuid4().hex[:8]}"
        # the guest boot waits at most the scenario's time left (deadline.bound)
        guest = guests.create(self.guest, instance_id, self.ledger, images=self.images,
                              version=version, memory_mb=FLAVORS[flavor].memory_mb,
                              volume_gb=volume_gb)
        server = engine.server(guest, version=version, memory_mb=FLAVORS[flavor].memory_mb,
                               timeouts=self.timeouts)
        inst = Instance(id=instance_id, name=name, datastore=datastore, version=version,
                        flavor=FLAVORS[flavor], volume_gb=volume_gb, guest=self.guest,
                        image=guest.image,
                        extra={"guest": guest, "server": server, "engine": engine})
        with self._lock:
            self._live[inst.id] = inst
        deadline.watch(inst)    # the scenario's watchdog may tear it down mid-creation
        return inst

    def _started(self, inst: Instance) -> Instance:
        inst.address, inst.port = inst.extra["guest"].address, inst.extra["server"].port
        inst.status = "ACTIVE"
        return inst

    def create_instance(self, datastore: str, version: str, *, name: str,
                        flavor: str = "small", volume_gb: int = 1,
                        restore_from: Backup | None = None,
                        configuration: Configuration | None = None) -> Instance:
        inst = self._new_instance(datastore, version, name=name, flavor=flavor,
                                  volume_gb=volume_gb)
        server = inst.extra["server"]
        try:
            if restore_from is not None:
                if restore_from.datastore and restore_from.datastore != datastore:
                    raise UsageError(f"backup {restore_from.id} is of {restore_from.datastore}"
                                     f", not {datastore}")
                server.restore(self.place_backup(inst, restore_from))
            else:
                server.start()
            self._started(inst)
            if configuration is not None:
                self.attach_configuration(inst, configuration)
        except BaseException as exc:
            self._salvage([inst], exc)
            self.delete_instance(inst)
            raise
        return inst

    def delete_instance(self, instance: Instance) -> None:
        server, guest = instance.extra["server"], instance.extra["guest"]
        try:
            server.stop()
        finally:
            guest.destroy(timeout=self.timeouts.engine_stop)
            instance.status = "DELETED"
            with self._lock:
                self._live.pop(instance.id, None)

    def leftovers(self, instance: Instance) -> list[str]:
        left = instance.extra["guest"].leftovers(instance.port)
        server = instance.extra["server"]
        if server.process is not None and server.process.poll() is None:
            left.append(f"server process {server.process.pid} still runs")
        return left

    def resize_volume(self, instance: Instance, gb: int) -> None:
        """Namespace guests grow their volume offline, as Trove's guest agent does:
        the engine stops around it (overrides LocalOps' online call)."""
        if not isinstance(instance.extra["guest"], OwnVolume) or gb <= instance.volume_gb:
            return LocalOps.resize_volume(self, instance, gb)     # its errors
        server = instance.extra["server"]
        server.stop()
        try:
            instance.extra["guest"].resize_volume(gb)
        finally:
            server.start()
        instance.volume_gb = gb

    def upgrade_instance(self, instance: Instance, version: str) -> None:
        """Trove's datastore upgrade: the guest boots the new version's image,
        keeps its data volume, and the engine upgrades the data in place."""
        guest, server = instance.extra["guest"], instance.extra["server"]
        if not isinstance(guest, SwitchesImage):
            if getattr(server, "versions_side_by_side", False):
                # the engine's versions sit side by side on this host (MongoDB)
                server.upgrade_to(version)
                instance.version = version
                return
            raise NotSupported(f"a {instance.guest} guest runs the host's one version of "
                               "each engine; upgrades need namespace guests")
        self.prepare(self.catalog.get(instance.datastore), [version])
        server.stop()
        image = self.images.by_version[version]
        guest.switch_image(image.rootfs(), image.ref(),
                           keep_previous=getattr(server, "upgrade_needs_previous", False))
        server.upgrade_to(version)
        instance.version, instance.image = version, guest.image

    def service_credentials(self, instance: Instance) -> Credentials:
        return instance.extra["server"].admin

    # databases and users --------------------------------------------------
    def _admin(self, instance: Instance, database: str | None = None) -> Client:
        return instance.extra["server"].client(database)

    def create_database(self, instance: Instance, name: str) -> None:
        with self._admin(instance) as c:
            c.create_database(name)

    def list_databases(self, instance: Instance) -> list[str]:
        with self._admin(instance) as c:
            return c.list_databases()

    def delete_database(self, instance: Instance, name: str) -> None:
        with self._admin(instance) as c:
            c.delete_database(name)

    def create_user(self, instance: Instance, name: str, password: str,
                    databases: list[str]) -> None:
        with self._admin(instance) as c:
            c.create_user(name, password, databases)

    def list_users(self, instance: Instance) -> list[str]:
        with self._admin(instance) as c:
            return c.list_users()

    def delete_user(self, instance: Instance, name: str) -> None:
        with self._admin(instance) as c:
            c.delete_user(name)

    def connect(self, instance: Instance, creds: Credentials,
                database: str | None = None) -> Client:
        return instance.extra["engine"].connect(instance.address, instance.port, creds,
                                                database)

    def identity(self, instance: Instance) -> Identity:
        return instance.extra["server"].identity()

    def collect_logs(self, instance: Instance, dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for log_name, path in instance.extra["server"].log_files().items():
            if path.is_file():
                target = dest / f"{instance.id}-{log_name}.log"
                shutil.copyfile(path, target)
                written.append(target)
        return written
