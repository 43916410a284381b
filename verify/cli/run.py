"""trove-verify run DS: launch, run the scenario set, record evidence."""

from __future__ import annotations

import sys

from verify.errors import EXIT_FAIL, EXIT_PASS, EXIT_UNKNOWN

EXIT_BY_STATUS = {"pass": EXIT_PASS, "fail": EXIT_FAIL}


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="run a datastore's scenario set and record evidence")
    p.add_argument("datastore")
    p.add_argument("--tier", choices=["experimental", "technical-preview", "stable"],
                   help="size the suite to this tier (default: the tier the catalog claims)")
    p.add_argument("--backend", default=None, choices=["local", "trove"],
                   help="default: trove through the box (trove-verify box) when the Trove "
                        "under test has a guest agent for DS and this machine can host the "
                        "box, else local; the choice and its reason are printed and recorded")
    p.add_argument("--cloud", help="--backend trove: the clouds.yaml entry (default: $OS_CLOUD)")
    p.add_argument("--region", help="--backend trove: region (default: the cloud's)")
    p.add_argument("--guest", default=None, choices=["namespace", "process"],
                   help="where engines run (default: namespace guests from DIB images "
                        "when this machine allows it, else process guests, said in one line)")
    p.add_argument("--version", action="append", dest="versions",
                   help="datastore version to run (repeatable; default: all)")
    p.add_argument("--workers", type=int, default=2, help="parallel scenario workers")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.runner import RunOptions, execute, install_signal_handlers

    install_signal_handlers()
    say = lambda line: print(line, flush=True)   # noqa: E731
    backend, cloud, choice = args.backend, args.cloud, None
    if backend is None:
        from verify.box import client as box_client
        backend, why = box_client.default_backend(args.datastore)
        choice = {"backend": backend, "reason": why, "default": True}
        say(f"backend: {backend}{' (the box)' if backend == 'trove' else ''} — {why}")
        if backend == "trove":
            from verify.box import manage
            status = manage.up(say=say)
            cloud = status["cloud"]
    record = execute(RunOptions(datastore=args.datastore, tier=args.tier,
                                backend=backend, guest=args.guest,
                                versions=args.versions, workers=args.workers,
                                cloud=cloud, region=args.region, backend_choice=choice),
                     say=say)
    sys.stdout.flush()
    return EXIT_BY_STATUS.get(record["status"], EXIT_UNKNOWN)
