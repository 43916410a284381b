"""Errors the CLI turns into one clear line and a distinct exit code.

Exit codes follow sysexits(3) so they never collide with run verdicts
(0 pass, 1 fail, 2 unknown/incomplete). A run stopped by SIGTERM exits 2
(it is incomplete), by Ctrl-C (SIGINT) 130; both tear down first. A bug
in the harness exits 70 with one line (TROVE_VERIFY_DEBUG=1 shows the
traceback).
"""

import errno

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_UNKNOWN = 2
EXIT_USAGE = 64
EXIT_DATA = 65
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_NOPERM = 77
EXIT_CONFIG = 78


class VerifyError(Exception):
    """Base error: ``str(err)`` is the whole message a user sees."""

    exit_code = EXIT_SOFTWARE

    def __init__(self, what: str, where: str | None = None, fix: str | None = None):
        self.what, self.where, self.fix = what, where, fix
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text += f" ({self.fix})"
        return text


class UsageError(VerifyError):
    exit_code = EXIT_USAGE


class ConfigError(VerifyError):
    """Catalog, policy, clouds.yaml or settings are malformed."""

    exit_code = EXIT_CONFIG


class DataError(VerifyError):
    """An evidence bundle or imported file is malformed."""

    exit_code = EXIT_DATA


class CannotRunHere(VerifyError):
    """The datastore or guest cannot be launched on this machine."""

    exit_code = EXIT_UNKNOWN


class PermissionNeeded(VerifyError):
    exit_code = EXIT_NOPERM


class EngineError(VerifyError):
    """An engine failed to start, answer or perform an operation."""


class WaitTimeout(EngineError):
    """A bounded wait ran out."""


class InfraError(EngineError):
    """The harness's own infrastructure failed (a guest could not be set up),
    not the datastore: its scenarios are recorded failure_kind infra, which
    classify reports and never counts against the datastore."""


# the machine ran out of something the harness needs: its own fault, never the engine's
_RESOURCE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EMFILE,
                    errno.ENFILE, errno.ENOMEM}


def is_infra(exc: BaseException) -> bool:
    """Whose fault a failure is: the harness's own (its I/O, a full disk, a
    missing tool, a guest that cannot be set up) rather than the datastore's.
    A client's network error (the engine not answering) is not infra."""
    if isinstance(exc, InfraError):
        return True
    return isinstance(exc, OSError) and exc.errno in _RESOURCE_ERRNOS


class NotSupported(VerifyError):
    """An engine or guest cannot perform an operation here; the scenario is
    skipped with this reason (never passed)."""

    exit_code = EXIT_UNKNOWN
