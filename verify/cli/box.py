"""trove-verify box up | down | status | logs: Trove in a box on this machine."""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    p = sub.add_parser("box", help="a real Trove (Keystone, RabbitMQ, Trove, an emulated "
                                   "Nova/Neutron/Glance, namespace guests) on this machine")
    verbs = p.add_subparsers(dest="box_verb", required=True)
    up = verbs.add_parser("up", help="bring the box up, or reuse the one already up")
    up.add_argument("--trove-src", help="a Trove checkout to run instead of the pinned "
                                        "release (default: $TROVE_VERIFY_TROVE_SRC)")
    up.set_defaults(func=run_up)
    verbs.add_parser("down", help="stop everything the box started").set_defaults(func=run_down)
    st = verbs.add_parser("status", help="is a box up, and where")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)
    lg = verbs.add_parser("logs", help="list the box's logs, or print the end of one")
    lg.add_argument("name", nargs="?", help="a log file name (e.g. trove-taskmanager.log)")
    lg.add_argument("--lines", type=int, default=50)
    lg.set_defaults(func=run_logs)


def run_up(args) -> int:
    from verify.box import manage
    from verify.runner import install_signal_handlers
    install_signal_handlers()   # SIGTERM of a starting `up` stops the daemon it started
    manage.up(trove_src=args.trove_src, say=lambda line: print(line, flush=True))
    return 0


def run_down(args) -> int:
    from verify.box import manage
    for line in manage.down(say=lambda line: print(line, flush=True)):
        print(f"  released {line}")
    return 0


def run_status(args) -> int:
    from verify.box import manage
    data = manage.status()
    if args.json:
        print(json.dumps(data, indent=1))
        return 0
    if data["state"] != "up":
        print(f"box: {data['state']}" + (f" ({data['error']})" if data.get("error") else "")
              + (f" ({data['note']})" if data.get("note") else ""))
        return 0 if data["state"] != "failed" else 1
    trove = data["trove"]
    print(f"box: up (pid {data['pid']}); cloud {data['cloud']} in {data['clouds_yaml']}")
    print(f"  Trove {trove.get('commit') or trove['version']}"
          + (" (dirty)" if trove.get("dirty") else "") + f" at {data['trove_endpoint']}")
    print(f"  Keystone {data['auth_url']}; emulator {data['emulator_url']}")
    print(f"  guest image {data['guest_image']['name']} sha256:{data['guest_image']['sha256']}")
    print(f"  datastores: {', '.join(sorted(data['datastores']))}; logs {data['logs']}")
    return 0


def run_logs(args) -> int:
    from verify.box import client, manage
    from verify.errors import UsageError
    client.register_secrets()   # what is printed here is redacted like everything else
    logs = manage.log_paths()
    if not args.name:
        for path in logs:
            print(path)
        return 0
    match = [p for p in logs if p.name == args.name or str(p).endswith(args.name)]
    if not match:
        raise UsageError(f"no box log named {args.name!r}",
                         fix="`trove-verify box logs` lists them")
    lines = match[0].read_text(errors="replace").splitlines()[-args.lines:]
    print("\n".join(lines))
    return 0
