"""trove-verify run DS: launch, run the scenario set, record evidence."""

from __future__ import annotations

import argparse
import sys

from verify.errors import EXIT_FAIL, EXIT_PASS, EXIT_UNKNOWN, UsageError

EXIT_BY_STATUS = {"pass": EXIT_PASS, "fail": EXIT_FAIL}


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _check_versions(datastore: str, versions: list[str] | None) -> None:
    """A version the catalog does not list is a usage error, said before
    anything starts (the string is shown quoted, never run)."""
    from verify import catalog as catalog_mod

    ds = catalog_mod.default().get(datastore)     # an unknown datastore says so itself
    known = [v.name for v in ds.versions]
    for version in versions or []:
        if version not in known:
            raise UsageError(f"datastore {ds.name} has no version {version!r}",
                             where="--version", fix=f"one of: {', '.join(known)}")


def _check_scenarios(ids: list[str] | None) -> None:
    """A scenario id this harness does not have is a usage error (a typo
    would otherwise run an empty suite and pass)."""
    from verify.scenarios.planner import scenario_methods

    known = sorted({info.id for _, _, info in scenario_methods()})
    for scenario_id in ids or []:
        if scenario_id not in known:
            raise UsageError(f"no scenario {scenario_id!r}", where="--scenario",
                             fix=f"one of: {', '.join(known)}")


def add_parser(sub) -> None:
    from verify import backends, guests  # the registries name the choices

    p = sub.add_parser("run", help="run a datastore's scenario set and record evidence")
    p.add_argument("datastore")
    p.add_argument("--tier", choices=["experimental", "technical-preview", "stable"],
                   help="size the suite to this tier (default: the tier the catalog claims)")
    p.add_argument("--backend", default=None, choices=backends.NAMES,
                   help="default: trove through the box (trove-verify box) when the Trove "
                        "under test has a guest agent for DS and this machine can host the "
                        "box, else local; the choice and its reason are printed and recorded")
    p.add_argument("--cloud", help="--backend trove: the clouds.yaml entry (default: $OS_CLOUD)")
    p.add_argument("--region", help="--backend trove: region (default: the cloud's)")
    p.add_argument("--guest", default=None, choices=guests.KINDS,
                   help="where engines run (default: namespace guests from DIB images "
                        "when this machine allows it, else process guests, said in one line)")
    p.add_argument("--version", action="append", dest="versions",
                   help="datastore version to run (repeatable; default: all)")
    p.add_argument("--scenario", action="append", dest="scenarios", metavar="ID",
                   help="run only this scenario id, e.g. replication.detach (repeatable; "
                        "default: the tier's whole set)")
    p.add_argument("--workers", type=_at_least_one, default=None,
                   help="parallel scenario workers, at least 1 (default: 2 locally, 4 "
                        "through Trove, whose scenarios mostly wait on Trove)")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.runner import RunOptions, execute, install_signal_handlers

    _check_versions(args.datastore, args.versions)
    _check_scenarios(args.scenarios)
    from verify.settings import Timeouts
    Timeouts.from_env()          # bad settings fail before anything (the box) starts
    install_signal_handlers()
    say = lambda line: print(line, flush=True)   # noqa: E731
    backend, cloud, choice = args.backend, args.cloud, None
    if backend is None and (args.guest or args.cloud):
        # --guest is where the local backend runs engines; --cloud names a Trove
        backend = "local" if args.guest else "trove"
        why = (f"--guest {args.guest} names where the local backend runs engines"
               if args.guest else f"--cloud {args.cloud} names a Trove deployment")
        # the user named it: recorded in run.json, not announced
        choice = {"backend": backend, "reason": why, "default": False}
    elif backend is None:
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
                                scenarios=args.scenarios, cloud=cloud, region=args.region,
                                backend_choice=choice),
                     say=say)
    sys.stdout.flush()
    from verify.cli.classify import after_run
    after_run(args.datastore)
    return EXIT_BY_STATUS.get(record["status"], EXIT_UNKNOWN)
