import shutil

import pytest

from tests.unit import history_factory


@pytest.fixture(scope="session")
def _history_master(tmp_path_factory):
    """The synthetic gate history plus an inspection of the 2015 fixture tree."""
    from verify import catalog, inspect

    results = tmp_path_factory.mktemp("history") / "results"
    ids = history_factory.build(results)
    static = inspect.inspect(history_factory.FIXTURE_TREE,
                             catalog.load(history_factory.CATALOG))
    inspect.write(results, static)
    return results, ids


@pytest.fixture
def history(_history_master, tmp_path):
    """A private copy of the history (tests may add bundles or releases)."""
    master, ids = _history_master
    results = tmp_path / "results"
    shutil.copytree(master, results)
    return results, ids
