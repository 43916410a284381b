"""trove-verify image build DS [--os OS]: guest images from elements/."""

from __future__ import annotations

import sys

from verify.errors import EXIT_UNKNOWN, CannotRunHere


def add_parser(sub) -> None:
    p = sub.add_parser("image", help="build guest images from elements/ (diskimage-builder)")
    verbs = p.add_subparsers(dest="image_verb", required=True)
    b = verbs.add_parser("build", help="build (or find in the cache) a datastore's images")
    b.add_argument("datastore", help="a catalog datastore, or trove-guest (the box's "
                   "Trove guest image)")
    b.add_argument("--os", dest="os_name",
                   help="supported OS entry to build (default: every one the versions name)")
    b.add_argument("--force", action="store_true", help="rebuild even when cached")
    b.add_argument("--containers", action="store_true",
                   help="also the container images Trove's guest agent runs (mariadb, mysql, "
                        "postgresql: one per catalog version, named as Trove's docker_image)")
    b.set_defaults(func=build)


def build(args) -> int:
    import time

    from verify import catalog
    from verify.images import spec_for
    from verify.images.build import build as build_image
    from verify.runner import install_signal_handlers

    install_signal_handlers()   # Ctrl-C / SIGTERM: the build's mounts are torn down

    if args.datastore == "trove-guest":
        return _build_trove_guest()
    ds = catalog.default().get(args.datastore)
    names = [args.os_name] if args.os_name else list(dict.fromkeys(
        o for v in ds.versions for o in v.os))
    if not names:
        raise CannotRunHere(f"{ds.name} names no supported OS, so no image to build",
                            fix="add supported_os and elements to the catalog")
    built = 0
    for name in names:
        started = time.monotonic()
        try:
            spec = spec_for(ds, name)
            image, hit = build_image(spec, say=lambda line: print(line, flush=True))
        except CannotRunHere as exc:
            if args.os_name:
                raise
            print(f"{ds.name} on {name}: {exc}", flush=True)
            continue
        built += 1
        how = "cache hit" if hit else "built"
        print(f"{image.name}: {how} in {time.monotonic() - started:.1f}s — sha256 "
              f"{image.sha256}, manifest {image.dir / 'manifest.json'}", flush=True)
    if built and getattr(args, "containers", False):
        _build_containers(ds)
    sys.stdout.flush()
    return 0 if built else EXIT_UNKNOWN


def _build_containers(ds) -> None:
    import time

    from verify.box import containers

    if ds.name not in containers.CONTRACTS:
        print(f"{ds.name}: Trove's guest agent runs no container for it; none built")
        return
    for version in ds.versions:
        started = time.monotonic()
        image, hit = containers.build(ds.name, version.name,
                                      say=lambda line: print(line, flush=True))
        how = "cache hit" if hit else "built"
        print(f"{image.name}: container image {how} in {time.monotonic() - started:.1f}s — "
              f"sha256 {image.sha256}, manifest {image.dir / 'manifest.json'}", flush=True)


def _build_trove_guest() -> int:
    import time

    from verify.images import trove_guest

    started = time.monotonic()
    image, hit = trove_guest.build(say=lambda line: print(line, flush=True))
    how = "cache hit" if hit else "built"
    print(f"{image.name}: {how} in {time.monotonic() - started:.1f}s — sha256 "
          f"{image.sha256}, manifest {image.dir / 'manifest.json'}", flush=True)
    return 0
