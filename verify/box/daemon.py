"""The box's owner process: starts every piece, serves the emulator, and
tears everything down on SIGTERM (`box down`).

It owns the box's ledger, so a SIGKILLed box is released by the next
`trove-verify cleanup` (the owner is gone). Progress goes to the status file
(box.STATUS): state "starting", then "up" with what a client needs, or
"failed" with one line naming the piece and its log.

usage: python -m verify.box.daemon BOX_DIR [--trove-src PATH]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from verify.box import emulator as emu
from verify.box.control import REGION, ControlPlane, DatastoreSpec, PieceFailed
from verify.box.paths import BoxPaths, write_json, write_status
from verify.box.trove_install import TroveInstall, guest_managers, resolve
from verify.errors import EngineError, VerifyError
from verify.state import Ledger

# Trove's docker_image defaults per manager (trove/common/cfg.py); the guest
# images box-guest builds carry these names, tagged with the version.
DOCKER_IMAGES = {"mysql": "mysql", "mariadb": "mariadb", "postgresql": "postgres"}


def datastores(trove: TroveInstall) -> list[DatastoreSpec]:
    """Every catalog datastore Trove has a guest-agent manager for, with the
    catalog's versions."""
    from verify import catalog

    managers = guest_managers(trove.package_dir())
    out = []
    for ds in catalog.default():
        # Trove's manager names are its datastore names (the catalog's
        # `manager` is a class path, from older Trove releases)
        if ds.name in managers and ds.name in DOCKER_IMAGES:
            out.append(DatastoreSpec(name=ds.name, manager=ds.name,
                                     versions=[v.name for v in ds.versions],
                                     docker_image=DOCKER_IMAGES[ds.name]))
    return out


class Box:
    def __init__(self, paths: BoxPaths, trove: TroveInstall):
        self.paths = paths
        self.trove = trove
        self.ledger = Ledger(f"box-{uuid.uuid4().hex[:6]}")
        self.rabbit = None
        self.address = None
        self.control: ControlPlane | None = None
        self.emulator: emu.Emulator | None = None
        self.server = None
        self.swift = None
        self.registry = None
        self.backups: dict = {}     # manager -> {version: ContainerImage}
        self.backup_problems: dict[str, str] = {}

    def start(self) -> dict:
        """Five lanes at once (each piece waits only for what it needs):
        RabbitMQ; Keystone and its catalog; Trove's database and trove-manage;
        Swift's storage servers; the registry and the backup images pushed
        into it. Then the three Trove services, and Swift's proxy with its
        object-store endpoint. Any lane failing fails the box with
        that piece's line; everything already started is torn down by stop()."""
        p = self.paths
        self.ledger.add("dir", str(p.run))
        p.run.mkdir()
        p.run.chmod(0o711)   # RabbitMQ runs as the service user below it
        from verify.box import guest as guest_mod
        from verify.box.network import BoxAddress
        from verify.box.rabbitmq import RabbitMQ
        from verify.box.registry import Registry
        from verify.box.swift import Swift

        image = self.image = _piece("Trove guest image", p.logs / "box.log", self._guest_image)
        image_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trove-box:{image.sha256}"))
        volumes = p.run / "volumes"     # Cinder's: one sparse file per volume
        volumes.mkdir(mode=0o700)
        self.emulator = emu.Emulator(
            boot=lambda server, files, info: self._boot(guest_mod, server, files, info),
            images=[emu.ImageSpec(id=image_id, name=image.name, tags=["trove"],
                                  checksum=image.sha256[:32])],
            volumes_dir=volumes)
        cp = self.control = ControlPlane(root=p.run, ledger=self.ledger, trove=self.trove,
                                         logs=p.logs)
        cp.allocate_ports()
        emu_port = cp.port()
        self.server = emu.serve(self.emulator, emu_port)
        threading.Thread(target=self.server.serve_forever, name="emulator",
                         daemon=True).start()
        emulator_url = f"http://127.0.0.1:{emu_port}"
        specs = datastores(self.trove)

        # first: RabbitMQ, the registry and Swift's proxy listen on it
        self.address = _piece("box-private address", p.logs / "box.log",
                              lambda: BoxAddress(self.ledger))

        def rabbit_lane() -> None:
            self.rabbit = RabbitMQ(self.ledger, guest_address=self.address.address,
                                   directory=p.run / "rabbitmq")
            _piece("RabbitMQ", self.rabbit.log_path, self.rabbit.start)

        def keystone_lane() -> None:
            _piece("Keystone", p.logs / "keystone.log", cp.start_keystone)
            _piece("Keystone catalog", p.logs / "keystone.log",
                   lambda: cp.register_catalog(emulator_url))

        def database_lane() -> None:
            _piece("Trove's database (MariaDB)", p.logs / "box.log", cp.start_database)
            # trove-manage reads no RPC setting: a placeholder until RabbitMQ is up
            cp.write_configs("rabbit://", "rabbit://", specs)
            _piece("trove-manage", p.logs / "trove-manage.log",
                   lambda: cp.setup_trove_db(specs, image_id))

        swift = self.swift = Swift(root=p.run / "swift", ledger=self.ledger, trove=self.trove,
                                   logs=p.logs)

        def swift_lane() -> None:
            # the storage servers need nothing else; the proxy waits below
            _piece("Swift storage", p.logs / "swift-storage.log", swift.start_storage)

        def backup_image_lane() -> None:
            # where guests' dockerd finds Trove's backup images: built (or
            # taken from the cache) and pushed while the other lanes start
            self.registry = Registry(root=p.run / "registry", ledger=self.ledger, logs=p.logs)
            _piece("container registry", p.logs / "registry.log",
                   lambda: self.registry.start(self.address.address))
            self._backup_images(specs)
            for versions in self.backups.values():
                for image in versions.values():
                    _piece(f"backup image {image.name}", p.logs / "registry.log",
                           lambda i=image: self.registry.push(i))

        _lanes(rabbit_lane, keystone_lane, database_lane, swift_lane, backup_image_lane)
        from verify.box.backup_images import BACKUP
        cp.backup_images = {m: f"{self.registry.host}/{BACKUP[m][0]}" for m in self.backups}
        cp.write_configs(self.rabbit.transport_url(), self.rabbit.transport_url(for_guest=True),
                         specs)

        def trove_lane() -> None:
            _piece("Trove services", p.logs / "trove-api.log", cp.start_trove)
            _piece("Trove quota usages", p.logs / "trove-api.log", cp.make_quota_usages)

        def proxy_lane() -> None:
            # on the box-private address (guests' backup containers call it)
            _piece("Swift proxy", p.logs / "swift-proxy-server.log",
                   lambda: swift.start_proxy(self.address.address, cp.auth_url, REGION))
            _piece("object-store endpoint", p.logs / "keystone.log",
                   lambda: swift.register(cp.connection(), REGION))

        _lanes(trove_lane, proxy_lane)
        clouds = p.write_clouds_yaml(cp.auth_url, cp.admin_password, REGION)
        return {"state": "up", "pid": os.getpid(), "auth_url": cp.auth_url,
                "trove_endpoint": f"http://127.0.0.1:{cp.trove_port}/v1.0",
                "emulator_url": emulator_url, "clouds_yaml": str(clouds),
                "cloud": p.cloud, "trove": self.trove.provenance(),
                "guest_image": {"name": image.name, "sha256": image.sha256, "id": image_id},
                "datastores": {d.name: {"versions": d.versions,
                                        "docker_image": d.docker_image} for d in specs},
                "object_store": swift.info(), "volumes": True,
                "registry": self.registry.host,
                "backup_images": {
                    **{image.name: {**image.ref(), "registry": self.registry.pushed.get(
                        image.name)} for versions in self.backups.values()
                       for image in versions.values()},
                    **{name: {"unavailable": why}
                       for name, why in self.backup_problems.items()}},
                "box_address": self.address.address, "logs": str(p.logs),
                "ledger": self.ledger.run_id}

    def _backup_images(self, specs: list[DatastoreSpec]) -> None:
        """Trove's backup image for each datastore version that has one (built
        from Trove's backup/, cached). One that cannot be built leaves that
        datastore without backup_docker_image, with its reason in the status
        (the agent then refuses backups: \"Backup image was not defined\")."""
        from verify.box import backup_images
        say = logging.getLogger("verify.box").info
        for spec in specs:
            if spec.manager not in backup_images.IN_THE_BOX:
                continue
            for version in spec.versions:
                try:
                    image, hit = backup_images.build(spec.manager, version, say=say)
                except VerifyError as exc:
                    self.backup_problems[f"{spec.manager}:{version}"] = str(exc)
                    logging.warning("no backup image for %s %s: %s", spec.manager,
                                    version, exc)
                    continue
                self.backups.setdefault(spec.manager, {})[version] = image

    def _backup_image_refs(self, manager: str, version: str) -> list[str]:
        """The backup image Trove's agent will pull for this datastore version,
        as registry reference and digest (pre-pulled into the guest's docker
        seed, as an operator bakes it into a guest image)."""
        image = self.backups.get(manager, {}).get(version)
        if image is None or self.registry is None:
            return []
        digest = self.registry.pushed.get(image.name, "")
        return [f"{self.registry.host}/{image.name}@{digest}"] if digest else []

    def _guest_image(self):
        from verify.images import trove_guest
        if self.trove.source is not None:   # the checkout's agent goes into the image
            os.environ["TROVE_VERIFY_TROVE_SRC"] = str(self.trove.source)
        image, _hit = trove_guest.build(say=logging.getLogger("verify.box").info)
        return image

    def _boot(self, guest_mod, server: emu.Server, files: dict, info: dict):
        manager = info.get("datastore_manager", "")
        version = info.get("datastore_version", "")
        images = [f"{DOCKER_IMAGES[manager]}:{version}"] if manager in DOCKER_IMAGES else []
        flavor = self.emulator.flavors[server.flavor_id]
        # its Cinder volume, or (without one) the flavor's ephemeral disk
        volume = self.emulator.volumes.get(server.volume_id or "")
        if volume is None and not flavor.ephemeral:
            raise EngineError(f"server {server.id} has no volume and flavor {flavor.name} no "
                              "ephemeral disk: no device for Trove's datastore")
        # the server name becomes the guest's hostname: RFC 1123 characters only
        hostname = re.sub(r"[^A-Za-z0-9-]+", "-", server.name)[:63].strip("-") or "trove-guest"
        spec = guest_mod.TroveGuestSpec(server_id=server.id, name=hostname, files=files,
                                        memory_mb=flavor.ram,
                                        volume_gb=volume.size if volume else flavor.ephemeral,
                                        volume_path=volume.path if volume else None,
                                        docker_images=images,
                                        insecure_registries=[self.registry.host],
                                        pull_images=self._backup_image_refs(manager, version))
        guest = guest_mod.boot(spec, self.ledger, image=self.image,
                               seeds=self.paths.run / "docker-seeds",
                               say=logging.getLogger("verify.box.guest").info)
        # where a backend finds this instance's guest agent log (client.instance_logs)
        index = self.paths.logs / "instances"
        index.mkdir(exist_ok=True)
        timings = {k: round(v, 1) for k, v in guest.timings.items()}
        write_json(index / f"{info.get('guest_id', server.id)}.json",
                   {"server_id": server.id, "address": guest.address,
                    "logs": [str(p) for p in guest.log_paths().values()],
                    "boot_timings_s": timings})
        # where create->ACTIVE goes (bench/box.sh prints it)
        logging.info("guest %s booted: %s", server.id,
                     ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
        return guest

    def serve(self) -> None:
        reported: set[str] = set()
        while True:
            time.sleep(2.0)
            dead = set(self.control.dead() if self.control else [])
            dead |= set(self.swift.dead() if self.swift else [])
            dead |= set(self.registry.dead() if self.registry else [])
            if dead - reported:
                logging.error("box pieces exited: %s", ", ".join(sorted(dead - reported)))
                reported |= dead

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
        if self.emulator is not None:
            self.emulator.stop_all()
        if self.swift is not None:
            self.swift.stop()
        if self.registry is not None:
            self.registry.stop()
        if self.control is not None:
            self.control.stop()
        if self.rabbit is not None:
            try:
                self.rabbit.stop()
            except Exception as exc:   # the ledger still releases it
                logging.error("stopping RabbitMQ: %s", exc)
        self.ledger.teardown()


def _lanes(*lanes) -> None:
    """Run the lanes in threads; raise the first failure once all have ended
    (so nothing is still starting while the box tears down)."""
    errors: list[BaseException] = []

    def run(lane) -> None:
        try:
            lane()
        except BaseException as exc:   # handed to the main thread below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(lane,), name=lane.__name__, daemon=True)
               for lane in lanes]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():     # join in slices: SIGTERM reaches the main thread
                t.join(0.5)
    except BaseException:
        # SIGTERM while starting: each lane is bounded, and what it starts is
        # in the ledger only once its call returns. Tearing down while a lane
        # still runs left RabbitMQ's epmd (and its CLI's own) behind.
        _ignore_stop_signals()
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _piece(name: str, log: Path, start):
    began = time.monotonic()
    try:
        result = start()
        logging.info("%s up in %.1f s", name, time.monotonic() - began)
        return result
    except PieceFailed:
        raise
    except VerifyError as exc:
        raise PieceFailed(name, log, str(exc)) from None
    except Exception as exc:
        raise PieceFailed(name, log, f"{type(exc).__name__}: {exc}") from None


class Stop(BaseException):
    """SIGTERM/SIGINT: stop, whether starting or serving."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verify.box.daemon")
    parser.add_argument("box_dir")
    parser.add_argument("--trove-src")
    args = parser.parse_args(argv)
    paths = BoxPaths(Path(args.box_dir))
    paths.logs.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=paths.logs / "box.log", level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def on_term(signum, frame):
        raise Stop(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    started = time.monotonic()
    box: Box | None = None
    code = 0
    try:
        box = Box(paths, resolve(args.trove_src))
        write_status(paths, {"state": "starting", "pid": os.getpid(),
                             "ledger": box.ledger.run_id})
        info = box.start()
        info["started_in_s"] = round(time.monotonic() - started, 1)
        write_status(paths, info)
        logging.info("box up in %.1f s", info["started_in_s"])
        box.serve()
    except Stop as stop:
        logging.info("box stopping (%s)", stop)
    except VerifyError as exc:
        logging.error("box failed: %s", exc)
        write_status(paths, {"state": "failed", "pid": os.getpid(), "error": str(exc)})
        code = 1
    except BaseException as exc:
        logging.exception("box failed")
        write_status(paths, {"state": "failed", "pid": os.getpid(),
                             "error": f"box daemon: {type(exc).__name__}: {exc} "
                                      f"(log: {paths.logs / 'box.log'})"})
        code = 1
    finally:
        _ignore_stop_signals()   # teardown is never cut short by a second signal
        if box is not None:
            box.stop()
        if code == 0:
            paths.remove_status()
        logging.info("box down")
    return code


if __name__ == "__main__":
    sys.exit(main())
