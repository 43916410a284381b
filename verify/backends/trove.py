"""The trove backend: the same verbs, carried out by a real Trove deployment.

Every Trove call goes through python-troveclient on a keystoneauth session
from clouds.yaml (trove_cloud.py). Data checks never take Trove's word: they
reach the datastore at the address Trove reports with the same engine
modules the local backend uses.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from verify import deadline, engines, redact
from verify.backends.base import FLAVORS, Backend, Configuration, Instance
from verify.backends.trove_answers import refused_while_replicas_attached
from verify.backends.trove_cloud import Cloud, open_cloud, provenance
from verify.backends.trove_clusters import TroveClusters
from verify.backends.trove_creates import CreateOutcomes
from verify.backends.trove_data import TroveData
from verify.backends.trove_faults import TroveFaults
from verify.backends.trove_logs import TroveGuestLogs
from verify.backends.trove_ops import TroveOps
from verify.backends.trove_readouts import TroveReadouts
from verify.backends.trove_salvage import failure_text, salvage
from verify.catalog import Catalog, Datastore
from verify.engines.base import Client, Credentials, Identity, random_password, wait_for
from verify.engines.capabilities import Backup
from verify.errors import ConfigError, EngineError, UsageError, WaitTimeout
from verify.settings import Timeouts

READY = {"ACTIVE", "HEALTHY"}
FAILED = {"ERROR", "FAILED", "FAILED_TIMEOUT_GUESTAGENT"}
DELETE_GRACE = 5.0   # seconds a deletion waits even after the scenario's deadline


def flavors_from_env(environ: dict | None = None) -> dict[str, str]:
    """TROVE_VERIFY_TROVE_FLAVOR_<SIZE>=<flavor name or id> pins a Trove flavor
    for a harness size (tiny, small, medium, large); otherwise the smallest
    flavor with enough RAM is used."""
    environ = os.environ if environ is None else environ
    prefix = "TROVE_VERIFY_TROVE_FLAVOR_"
    return {k[len(prefix):].lower(): v for k, v in environ.items()
            if k.startswith(prefix) and v}


_NO_FAULTS = ("Trove's API injects no faults, and the harness pauses no Trove guest's "
              "server, cuts no guest's network and fills no guest's disk (the box kills "
              "the datastore and restarts the guest agent: trove_faults.py)")
_NOT_READ = ("the harness reads this from the engine's server on its own guests; it "
             "does not read it through Trove yet")

class TroveBackend(TroveData, TroveReadouts, TroveFaults, TroveGuestLogs, TroveClusters,
                   TroveOps, Backend):
    name = "trove"
    # its scenarios mostly wait on Trove (status polls, the agent's waits):
    # the box's mariadb tier at 4 workers kept 2 cores at load 1.6-2.8
    default_workers = 4
    NOT_SUPPORTED = {
        **dict.fromkeys(("pause_server", "resume_server", "cut_network", "heal_network",
                         "fill_volume", "free_volume"), _NO_FAULTS),
        "cluster_primary": _NOT_READ,
    }

    def __init__(self, catalog: Catalog, *, cloud: str | None, timeouts: Timeouts | None = None,
                 region: str | None = None, provenance_kind: str = "trove",
                 poll_interval: float = 2.0, flavor_map: dict[str, str] | None = None):
        from verify.box import client as box_client
        self.catalog = catalog
        self.timeouts = timeouts or Timeouts.from_env()
        box_client.use_clouds_yaml(cloud or os.environ.get("OS_CLOUD"))
        self.cloud: Cloud = open_cloud(cloud, region)
        self.trove = self.cloud.trove
        self.provenance = provenance(self.cloud, provenance_kind)
        # Trove in a box (verify/box): its Trove, images and logs are known
        self.box = box_client.running(self.cloud.name)
        self.volume_support = True
        if self.box is not None:
            self.provenance.update(box_client.provenance(self.box))
            # a box from before Cinder was served runs without volumes
            self.volume_support = bool(self.box.get("volumes"))
            from verify.box.faults import BoxFaults
            self.guest_faults = BoxFaults(self.box["emulator_url"])
        self.poll_interval = poll_interval
        self.flavor_map = flavor_map if flavor_map is not None else flavors_from_env()
        self._lock = threading.Lock()
        self._live: dict[str, Instance] = {}
        self.creates = CreateOutcomes()
        self.ledger = None      # from_run's: where a failed create's logs are salvaged

    @classmethod
    def from_run(cls, options, *, catalog, ledger, timeouts) -> TroveBackend:
        backend = cls(catalog, cloud=options.cloud, region=options.region, timeouts=timeouts)
        backend.ledger = ledger
        if options.provenance is None:
            options.provenance = backend.provenance
        return backend

    def guest_kind(self) -> str:
        return "trove"

    # what this Trove offers -------------------------------------------------
    def unavailable(self, ds: Datastore, version: str | None = None) -> str | None:
        """None when ds (version) is registered; a missing datastore is a
        configuration error, a missing version only skips its scenarios."""
        try:
            registered = self.trove.datastores.get(ds.name)
        except Exception:
            raise ConfigError(f"datastore {ds.name!r} is not registered in this Trove",
                              where=f"cloud {self.cloud.name!r}",
                              fix="register it: trove-verify register "
                                  f"{ds.name} (trove-manage datastore_update)") from None
        versions = {v.name: v for v in self.trove.datastore_versions.list(registered.id)
                    if getattr(v, "active", True)}
        if version is None:
            for size in {"small", *self.flavor_map}:   # a too-small flavor fails now
                self.flavor_for(size)
            if not any(v.name in versions for v in ds.versions):
                return (f"none of {ds.name}'s catalog versions "
                        f"({', '.join(v.name for v in ds.versions)}) is an active version "
                        f"in this Trove ({', '.join(sorted(versions)) or 'none'})")
            return None
        if version not in versions:
            return f"{ds.name} {version} is not an active datastore version in this Trove"
        v = versions[version]
        self.provenance["datastore_versions"][version] = {
            "id": v.id, "image_id": getattr(v, "image", None) or getattr(v, "image_id", None),
            "image_tags": getattr(v, "image_tags", None)}
        if self.box is not None:    # the container image the box's guests load
            from verify.box import client as box_client
            self.provenance["datastore_versions"][version]["container_image"] = \
                box_client.container_image(self.box, ds.name, version)
        return None

    def flavor_for(self, flavor: str) -> str:
        """A Trove flavor id for one of the harness's flavor sizes."""
        if flavor not in FLAVORS:
            raise UsageError(f"unknown flavor {flavor!r}", fix=f"one of {sorted(FLAVORS)}")
        need = FLAVORS[flavor].memory_mb
        offered = list(self.trove.flavors.list())
        chosen = self.flavor_map.get(flavor)
        if chosen:
            match = [f for f in offered if str(f.id) == chosen or f.name == chosen]
            if not match:
                raise ConfigError(f"flavor {chosen!r} does not exist in this Trove",
                                  where=f"flavor for {flavor}")
            if match[0].ram < need:
                raise ConfigError(f"flavor {chosen!r} has {match[0].ram} MB RAM, too small for "
                                  f"{flavor} ({need} MB)", where=f"flavor for {flavor}",
                                  fix="pick a larger flavor")
            return str(match[0].id)
        fitting = sorted((f for f in offered if f.ram >= need), key=lambda f: (f.ram, f.vcpus))
        if not fitting:
            largest = max((f.ram for f in offered), default=0)
            raise ConfigError(f"no flavor with at least {need} MB RAM (largest: {largest} MB)",
                              where=f"cloud {self.cloud.name!r}",
                              fix="create a larger flavor (openstack flavor create)")
        return str(fitting[0].id)

    # instances ------------------------------------------------------------
    # Trove keeps backups (and seeds replicas from them) and publishes guest
    # logs in object storage
    NEEDS_OBJECT_STORE = ("backup", "replication", "guest_logs")

    def capability_unavailable(self, capability: str) -> str | None:
        if capability == "volumes" and not self.volume_support:
            return ("needs volumes, which this deployment runs without (a cloud with "
                    "trove_volume_support off, or a box from before Cinder was served)")
        if capability not in self.NEEDS_OBJECT_STORE:
            return None
        with self._lock:
            if not hasattr(self, "_object_store"):
                try:
                    self._object_store = self.cloud.session.get_endpoint(
                        service_type="object-store", interface="public")
                except Exception:    # keystoneauth: no such service in the catalog
                    self._object_store = None
        if self._object_store:
            return None
        return (f"needs object storage: cloud {self.cloud.name!r} has no object-store "
                f"endpoint, and Trove keeps {capability} data there")

    def _make_quota_usages(self) -> None:
        """Trove 26 creates a project's quota-usage rows on its first create;
        two first creates at once race on that insert and one answers 500
        (DBDuplicateEntry on quota_usages, seen in the box). Reading the
        project's own quotas once, before any create, makes the rows. That
        read races too when another client makes its first create meanwhile;
        once either has won, a second read finds the rows."""
        with self._lock:
            if getattr(self, "_quota_usages_made", False):
                return
            self._quota_usages_made = True
            for attempt in (1, 2):
                try:
                    self.trove.quota.show(self.cloud.session.get_project_id())
                    return
                except Exception as exc:    # a cloud that hides its quotas: the race stays
                    if attempt == 2:
                        logging.getLogger(__name__).warning(
                            "could not read the project's quotas first (%s); parallel first "
                            "creates may race in Trove", exc)

    def create_instance(self, datastore: str, version: str, *, name: str,
                        flavor: str = "small", volume_gb: int = 1,
                        restore_from: Backup | None = None,
                        configuration: Configuration | None = None,
                        replica_of: str | None = None) -> Instance:
        ds = self.catalog.get(datastore)
        extra: dict = {}
        if replica_of:
            # a replica takes its source's flavor, volume and datastore
            kind: dict = {"replica_of": replica_of}
        else:
            kind = {"flavor_id": self.flavor_for(flavor), "datastore": ds.name,
                    "datastore_version": version}
            if self.volume_support:
                kind["volume"] = {"size": volume_gb}
        if restore_from is not None:
            extra["restorePoint"] = {"backupRef": restore_from.id}
        if configuration is not None:
            extra["configuration"] = configuration.id
        self.creates.check(datastore, version)
        self._make_quota_usages()
        with self._trove_errors(f"create {datastore} {version} instance"):
            created = self.trove.instances.create(f"verify-{name}"[:80], **kind, **extra)
        inst = Instance(id=created.id, name=created.name, datastore=datastore, version=version,
                        flavor=FLAVORS[flavor], volume_gb=volume_gb, guest="trove",
                        extra={"record": created._info})
        with self._lock:
            self._live[inst.id] = inst
        deadline.watch(inst)
        try:
            self.wait_ready(inst, self.timeouts.trove_create, "create")
        except BaseException as exc:
            plain = inst.status in FAILED and not (replica_of or restore_from or configuration)
            try:
                self.delete_instance(inst)     # nothing left running on failure
            finally:
                salvage(self, inst, exc)       # adds what the datastore said
                if plain:
                    self.creates.ended_in_error(datastore, version, str(exc).splitlines()[-1])
            raise
        self.creates.came_up(datastore, version)
        return inst

    def wait_ready(self, inst: Instance, timeout: float, what: str,
                   abort: Callable[[], None] | None = None,
                   ready: frozenset[str] = frozenset(), since: float | None = None) -> dict:
        """Poll until ACTIVE (or a status in ready); ERROR fails at once with the
        fault and guest log (and the box's task manager errors from `since`,
        the request's time, on); abort() may raise on any poll to end the wait (a
        refusal in the agent's log). Waits at most the scenario's time left."""
        own, timeout, began = timeout, deadline.bound(timeout), since or time.time()
        end = time.monotonic() + timeout
        interval = min(self.poll_interval, 0.5)
        while True:
            record = self.trove.instances.get(inst.id)._info
            inst.extra["record"] = record
            status = record.get("status", "")
            inst.status = status
            inst.operating_status = record.get("operating_status") or ""
            if status in READY or status in ready:
                self._learn_address(inst, record)
                inst.replica_of = (record.get("replica_of") or {}).get("id")
                inst.replicas = [r["id"] for r in record.get("replicas", [])]
                inst.configuration = (record.get("configuration") or {}).get("id")
                return record
            if status in FAILED:
                raise EngineError(failure_text(self, inst, record, what, since=began))
            if abort is not None:
                abort()
            if deadline.over(end):
                raise WaitTimeout(deadline.cut_short(f"Trove instance {inst.id} {what}") or
                                  f"Trove instance {inst.id} still {status} after "
                                  f"{own:.0f}s ({what}); raise TROVE_VERIFY_TIMEOUT_"
                                  f"{'TROVE_CREATE' if what == 'create' else 'TROVE_ACTION'}")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def _learn_address(self, inst: Instance, record: dict) -> None:
        addresses = record.get("addresses") or []
        public = [a["address"] for a in addresses if a.get("type") == "public"]
        others = [a["address"] for a in addresses if a.get("type") != "public"]
        ips = public + others + list(record.get("ip") or [])
        if ips:
            inst.address = ips[0]
        # where the datastore listens inside its guest: its engine's default port
        ds = self.catalog.get(inst.datastore)
        inst.port = engines.load(ds.engine_module).default_port if ds.engine_module else 0

    def get_instance(self, instance: Instance) -> dict:
        return self.trove.instances.get(instance.id)._info

    def list_instances(self) -> list[str]:
        return [i.id for i in self.trove.instances.list()]

    def delete_instance(self, instance: Instance) -> None:
        from troveclient import exceptions as tc_exc
        try:
            self.trove.instances.delete(instance.id)
        except tc_exc.NotFound:
            pass
        except tc_exc.Forbidden as exc:
            if not refused_while_replicas_attached(403, getattr(exc, "message", str(exc))):
                raise
            # after a promote the old primary follows this one: detach, then delete
            for replica_id in self.replicas(instance):
                with contextlib.suppress(tc_exc.NotFound):
                    self.trove.instances.update(replica_id, detach_replica_source=True)
            wait_for(lambda: not self.replicas(instance), timeout=self.timeouts.trove_action,
                     what=f"replicas of {instance.id} detached", interval=1.0)
            self.trove.instances.delete(instance.id)
        except tc_exc.UnprocessableEntity:
            # not deletable in its state (a create that never finished): an
            # admin force-delete, so a failed run leaves nothing behind
            with contextlib.suppress(tc_exc.NotFound):
                self.trove.instances.force_delete(instance.id)
        try:
            self._wait_gone(lambda: self.trove.instances.get(instance.id),
                            f"Trove instance {instance.id} deletion")
        finally:
            with self._lock:
                self._live.pop(instance.id, None)
        instance.status = "DELETED"

    def _wait_gone(self, get, what: str) -> None:
        from troveclient import exceptions as tc_exc
        # a deletion after the scenario's deadline still gets a short grace
        end = time.monotonic() + self.timeouts.bound("trove_action", DELETE_GRACE)
        interval = 0.3
        while True:
            try:
                get()
            except tc_exc.NotFound:
                return
            if time.monotonic() >= end:
                raise WaitTimeout(deadline.cut_short(what) or
                                  f"{what}: still there after {self.timeouts.trove_action:.0f}s")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def leftovers(self, instance: Instance) -> list[str]:
        from troveclient import exceptions as tc_exc
        try:
            left = self.trove.instances.get(instance.id)
        except tc_exc.NotFound:
            return []
        return [f"Trove still lists instance {instance.id} ({left.status})"]

    # data checks: the engine's own client at Trove's address --------------
    def address_of(self, instance: Instance) -> tuple[str, int]:
        if not instance.address:
            raise EngineError(f"Trove reports no address for instance {instance.id}")
        return instance.address, instance.port

    def _engine(self, datastore: str):
        ds = self.catalog.get(datastore)
        if ds.engine_module is None:
            raise EngineError(f"no engine client for {datastore} in this harness")
        return engines.load(ds.engine_module)

    def connect(self, instance: Instance, creds: Credentials,
                database: str | None = None) -> Client:
        host, port = self.address_of(instance)
        return self._engine(instance.datastore).connect(host, port, creds, database)

    def identity_credentials(self, instance: Instance) -> tuple[Credentials, callable]:
        """A throwaway user made through Trove to ask the server who it is."""
        ds = self.catalog.get(instance.datastore)
        if not ds.claims("users"):
            return self.service_credentials(instance), lambda: None
        creds = Credentials(f"verify_id_{random_password(6).lower()}", random_password())
        owner = self._writable(instance)
        self.create_user(owner, creds.user, creds.password, [])
        return creds, lambda: self.delete_user(owner, creds.user)

    def identity(self, instance: Instance) -> Identity:
        creds, done = self.identity_credentials(instance)
        try:
            with self._login(instance, creds) as client:
                identity = client.identity()
        finally:
            done()
        # the engine answered its own client at the address Trove reported
        host, port = self.address_of(instance)
        self.provenance.setdefault("engine_reported_at", {})[instance.version] = {
            "address": host, "port": port, "reported_by": "trove instance addresses",
            "engine": identity.as_dict()}
        return identity

    def service_credentials(self, instance: Instance) -> Credentials:
        return self.enable_root(instance)

    # logs -----------------------------------------------------------------
    def guest_log(self, instance: Instance, log_name: str, lines: int = 200) -> str:
        """A published guest log, or "" when Trove cannot publish it (nor
        asked: a silenced agent would keep Trove's API waiting 300 s)."""
        if self.agent_silenced(instance):
            return ""
        try:
            chunks = self.trove.instances.log_generator(instance.id, log_name, lines=lines,
                                                        swift=self._swift())
            return "".join(chunks())
        except Exception:  # no swift / log not published: the bundle says so
            return ""

    def collect_logs(self, instance: Instance, dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        record = dest / f"{instance.id}-trove-instance.json"
        record.write_text(json.dumps(instance.extra.get("record", {}), indent=2,
                                     sort_keys=True, default=str))
        written.append(record)
        try:
            names = [] if self.agent_silenced(instance) else \
                [log.name for log in self.trove.instances.log_list(instance.id)]
        except Exception:
            names = ["guest"]
        for name in names:
            text = self.guest_log(instance, name)
            if text:
                path = dest / f"{instance.id}-{name}.log"
                path.write_text(text)
                written.append(path)
        if self.box is not None:   # the box's own files: guest agent and Trove services
            from verify.box import client as box_client
            for src in (box_client.instance_logs(self.box, instance.id)
                        + box_client.service_logs(self.box)):
                target = dest / f"{instance.id}-box-{src.name}"
                target.write_text(redact.redact(src.read_text(errors="replace")))
                written.append(target)
        return written
