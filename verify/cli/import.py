"""trove-verify import PATH...: bundles copied from gate logs into results/."""

from __future__ import annotations

from pathlib import Path

from verify.errors import EXIT_DATA


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="import bundle directories or .tar.gz archives "
                       "(from gate job logs) into results/imported/")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    p.add_argument("--results", type=Path, help="bundle directory (default: results/)")
    p.add_argument("--public-key", action="store_true",
                   help="print this producer's public signing key as a trusted-keys line "
                        "(for the readers that should count its bundles) and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from verify.cli._common import results_root
    from verify.errors import UsageError

    if args.public_key:
        import socket

        from verify.evidence import signing
        print(signing.public_line(f"trove-verify@{socket.gethostname()}"))
        return 0
    if not args.paths:
        raise UsageError("import needs at least one PATH",
                         fix="give bundle directories or .tar.gz archives from gate logs")
    from verify.evidence.importer import import_path
    from verify.evidence.index import load_history

    root = results_root(args)
    root.mkdir(parents=True, exist_ok=True)
    bad = 0
    for path in args.paths:
        report = import_path(path, root)
        for rid in report.imported:
            print(f"imported {rid} ({report.signed.get(rid, 'unchecked')})")
        for rid in report.already:
            print(f"already imported {rid}")
        for rejected in report.rejected:
            print(f"ignored {rejected.path}: {rejected.reason}")
        bad += len(report.rejected)
    runs, _ = load_history(root)    # refresh the index now, not at the next read
    print(f"import: {len(runs)} bundle(s) in {root}; {bad} ignored")
    return EXIT_DATA if bad else 0
