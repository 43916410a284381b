"""trove-verify register DS: register a datastore version in Trove
(trove-manage through playbooks/register_datastore.yml, on the controller)."""

from __future__ import annotations

from pathlib import Path

from verify.errors import EXIT_PASS, UsageError


def add_parser(sub) -> None:
    p = sub.add_parser("register", help="register a datastore version in Trove (trove-manage)")
    p.add_argument("datastore")
    p.add_argument("--version", required=True, help="datastore version name, e.g. 10.11")
    image = p.add_mutually_exclusive_group(required=True)
    image.add_argument("--image-id", help="Glance image id of the guest image")
    image.add_argument("--image-tags", help="Glance tags Trove selects the image by (a,b)")
    p.add_argument("--manager", help="datastore manager (default: the datastore's name)")
    p.add_argument("--packages", default="", help="packages string for the version")
    p.add_argument("--version-number", default="", help="e.g. 10.11.6")
    p.add_argument("--config-rules", type=Path,
                   help="validation-rules.json to load (db_load_datastore_config_parameters)")
    p.add_argument("--trove-conf", default="/etc/trove/trove.conf")
    p.add_argument("--trove-manage", default="trove-manage")
    p.add_argument("--inventory", help="ansible inventory (default: localhost)")
    p.add_argument("--log", type=Path, help="write the redacted playbook output here")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify import catalog, playbooks

    ds = catalog.default().get(args.datastore)
    if args.config_rules is not None and not args.config_rules.is_file():
        raise UsageError(f"no such file {args.config_rules}", where="--config-rules")
    playbooks.run("register_datastore", {
        "trove_manage": args.trove_manage, "trove_conf": args.trove_conf,
        "datastore": ds.name, "datastore_version": args.version,
        "datastore_manager": args.manager or ds.name,
        "image_id": args.image_id or "", "image_tags": args.image_tags or "",
        "packages": args.packages, "version_number": args.version_number,
        "config_rules": str(args.config_rules.resolve()) if args.config_rules else "",
    }, inventory=args.inventory, log_to=args.log)
    print(f"registered {ds.name} {args.version} in Trove")
    return EXIT_PASS
