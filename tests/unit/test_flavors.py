"""Flavors an engine cannot run in are refused at create and resize, the way
Trove refuses a flavor not associated with a datastore version, instead of
booting a guest whose memory cgroup kills the engine."""

import pytest

from verify import catalog
from verify.backends.base import FLAVORS
from verify.backends.local import LocalBackend
from verify.engines import cassandra
from verify.errors import UsageError
from verify.state import Ledger


@pytest.fixture
def backend(monkeypatch, tmp_path):
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path))
    return LocalBackend(catalog.load(), guest="process", ledger=Ledger("t-flavors"))


def test_flavors_are_smallest_first_and_respect_the_engine_floor(backend):
    assert backend.flavors("mariadb") == ["tiny", "small", "medium", "large"]
    floor = cassandra.ENGINE.min_memory_mb
    allowed = backend.flavors("cassandra")
    assert allowed and all(FLAVORS[f].memory_mb >= floor for f in allowed)
    assert "tiny" not in allowed


def test_a_too_small_flavor_is_a_usage_error_naming_the_allowed_ones(backend):
    with pytest.raises(UsageError) as err:
        backend.create_instance("cassandra", "5.0", name="x", flavor="tiny")
    assert "too small for cassandra" in str(err.value)
    assert "small" in err.value.fix
