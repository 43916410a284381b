"""trove-verify: one module per verb (verify/cli/<verb>.py)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import threading
import time

from verify.errors import EXIT_SOFTWARE, EXIT_USAGE, VerifyError

VERBS = ("run", "classify", "catalog", "cleanup", "image", "inspect", "import", "gate",
         "release", "report", "register", "deploy", "collect-logs", "box")


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
    from verify.redact import RedactingStream

    # everything printed, by the harness or by a scenario, is redacted
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        return _main(argv)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = out, err


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except VerifyError as exc:
        sys.stderr.write(f"trove-verify: {exc}\n")
        return exc.exit_code
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("TROVE_VERIFY_DEBUG"):
            raise
        sys.stderr.write(f"trove-verify: internal error (a bug in the harness): "
                         f"{type(exc).__name__}: {exc} (set TROVE_VERIFY_DEBUG=1 for the "
                         "traceback)\n")
        return EXIT_SOFTWARE
    except KeyboardInterrupt as exc:  # runner.Interrupted: SIGINT -> 130, SIGTERM -> 2
        name = getattr(exc, "signal_name", "SIGINT")
        sys.stderr.write(f"trove-verify: interrupted by {name}; everything started was "
                         "torn down, the run is recorded as incomplete\n")
        code = getattr(exc, "exit_code", 130)
        _leave_blocked_workers(code)
        return code


# how long an interrupted run waits for its scenario workers to end
WORKER_GRACE_S = 30.0


def _leave_blocked_workers(code: int) -> None:
    """An interrupt ends every scenario's waits, but a worker can still be
    inside one request (to Trove, or an engine) that answers only when its
    own timeout ends. Python would wait for it at exit. After a grace period
    the process leaves without it: everything it started was torn down."""
    end = time.monotonic() + WORKER_GRACE_S
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, end - time.monotonic()))
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.current_thread() and not t.daemon and t.is_alive()]
    if stuck:
        sys.stderr.write(f"trove-verify: {len(stuck)} scenario worker(s) still in a request or "
                         f"its cleanup after {WORKER_GRACE_S:.0f}s; leaving without them\n")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
