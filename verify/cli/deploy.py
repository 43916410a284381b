"""trove-verify deploy image DS: upload a built guest image to Glance
(playbooks/upload_image.yml) and, with --register, register the version."""

from __future__ import annotations

from pathlib import Path

from verify.errors import EXIT_PASS, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("deploy", help="upload a guest image to Glance (and register it)")
    p.add_argument("what", choices=["image"])
    p.add_argument("datastore")
    p.add_argument("--image", type=Path, required=True, help="the built image file")
    p.add_argument("--name", help="Glance image name (default: trove-<ds>-<version>)")
    p.add_argument("--version", required=True, help="datastore version the image carries")
    p.add_argument("--cloud", help="clouds.yaml entry (default: $OS_CLOUD)")
    p.add_argument("--register", action="store_true",
                   help="then register the version by image tags on this host")
    p.add_argument("--trove-conf", default="/etc/trove/trove.conf")
    p.add_argument("--inventory", help="ansible inventory (default: localhost)")
    p.add_argument("--log", type=Path, help="write the redacted playbook output here")
    p.set_defaults(func=run)


def run(args) -> int:
    import os

    from verify import catalog, playbooks

    ds = catalog.default().get(args.datastore)
    if not args.image.is_file():
        raise UsageError(f"no such image file {args.image}", where="--image",
                         fix=f"build it: trove-verify image build {ds.name}")
    cloud = args.cloud or os.environ.get("OS_CLOUD", "")
    if not cloud:
        raise UsageError("no cloud named", where="--cloud", fix="pass --cloud or set OS_CLOUD")
    name = args.name or f"trove-{ds.name}-{args.version}"
    result = playbooks.run("upload_image", {
        "cloud": cloud, "image_file": str(args.image.resolve()), "image_name": name,
        "datastore": ds.name}, inventory=args.inventory, log_to=args.log)
    print(f"uploaded {name}: image {result.stats.get('image_id', '?')}")
    if args.register:
        playbooks.run("register_datastore", {
            "trove_conf": args.trove_conf, "datastore": ds.name,
            "datastore_version": args.version, "datastore_manager": ds.name,
            "image_tags": f"trove,{ds.name}"}, inventory=args.inventory)
        print(f"registered {ds.name} {args.version} (image tags trove,{ds.name})")
    return EXIT_PASS
