"""Guests and backends are registries: one line registers one, and the CLI's
choices come from them."""

from __future__ import annotations

import pytest

from verify import backends, guests
from verify.backends.base import Backend
from verify.cli import build_parser
from verify.errors import UsageError


def _run_choices(option: str) -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "verb")
    run = sub.choices["run"]
    return list(next(a for a in run._actions if option in a.option_strings).choices)


def test_run_offers_exactly_the_registered_backends_and_guests():
    assert _run_choices("--backend") == list(backends.BACKENDS) == ["local", "trove"]
    assert _run_choices("--guest") == list(guests.GUESTS) == ["namespace", "process"]


@pytest.mark.parametrize("name", backends.NAMES)
def test_every_registered_backend_is_named_as_registered_and_buildable(name):
    cls = backends.backend_class(name)
    assert issubclass(cls, Backend) and cls.name == name
    assert cls.from_run.__func__ is not Backend.from_run.__func__, \
        f"{cls.__name__} must say how a run builds it (from_run)"


def test_an_unknown_backend_is_one_usage_line_naming_the_choices():
    with pytest.raises(UsageError, match="unknown backend 'box2'") as exc:
        backends.backend_class("box2")
    assert exc.value.fix == "use --backend local|trove"


def test_the_local_backend_refuses_an_unknown_guest_kind():
    from verify import catalog
    from verify.runner import RunOptions

    with pytest.raises(UsageError, match="unknown guest 'qemu'"):
        backends.make("local", RunOptions("mariadb", guest="qemu"),
                      catalog=catalog.default(), ledger=None, timeouts=None)


def test_a_run_that_names_no_workers_takes_its_backends_default():
    """Trove's scenarios mostly wait on Trove, so a run through it takes more
    workers than a local one, whose engines keep the cores busy."""
    import argparse

    from verify.backends.local import LocalBackend
    from verify.backends.trove import TroveBackend
    from verify.cli import run as run_verb
    from verify.runner import RunOptions

    parser = argparse.ArgumentParser()
    run_verb.add_parser(parser.add_subparsers())
    assert parser.parse_args(["run", "mariadb"]).workers is None
    assert parser.parse_args(["run", "mariadb", "--workers", "3"]).workers == 3
    assert RunOptions("mariadb").workers is None
    assert (LocalBackend.default_workers, TroveBackend.default_workers) == (2, 4)
