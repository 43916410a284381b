"""trove-verify: one module per verb (verify/cli/<verb>.py)."""

from __future__ import annotations

import argparse
import importlib
import sys

from verify.errors import EXIT_USAGE, VerifyError

VERBS = ("run", "classify", "catalog", "cleanup", "register", "deploy", "collect-logs")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default exit code 2 means "unknown" here
        self.print_usage(sys.stderr)
        sys.stderr.write(f"trove-verify: error: {message}\n")
        sys.exit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trove-verify",
                     description="Evidence-based tier verification for OpenStack Trove.")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    for verb in VERBS:
        module = importlib.import_module(f"verify.cli.{verb.replace('-', '_')}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except VerifyError as exc:
        sys.stderr.write(f"trove-verify: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("trove-verify: interrupted; everything started was torn down\n")
        return 130
