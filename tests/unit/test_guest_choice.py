"""Which guest a run uses: namespace when this machine allows it; otherwise one
line that says why and names --guest process — never a silent switch."""

from pathlib import Path

import pytest

from tests.conftest import cli
from verify import catalog, guests
from verify.errors import CannotRunHere
from verify.guests import namespace, nshost
from verify.images import mirror


def test_without_root_the_default_says_so_and_names_the_option(monkeypatch):
    monkeypatch.setattr(nshost.os, "geteuid", lambda: 1000)
    assert "need root" in namespace.unavailable()
    kind, note = guests.default_kind()
    assert kind == "process"
    assert note.count("\n") == 0 and "--guest process" in note and "need root" in note


def test_namespace_asked_for_without_root_is_refused_with_the_way_out(monkeypatch):
    monkeypatch.setattr(nshost.os, "geteuid", lambda: 1000)
    ds = catalog.load().get("mariadb")
    reason = guests.unavailable("namespace", ds, "10.11")
    assert "need root" in reason and "--guest process" in reason


def test_unknown_guest_kind_is_a_usage_error():
    from verify.errors import UsageError

    with pytest.raises(UsageError, match="unknown guest"):
        guests.unavailable("vmware", catalog.load().get("mariadb"), "10.11")


def test_ubuntu_without_a_mirror_is_cannot_build_here_not_a_failure():
    try:
        mirror.mirrors("ubuntu", environ={})
    except CannotRunHere:
        pass
    else:
        pytest.skip("this host's apt sources name an Ubuntu mirror")
    proc = cli("image", "build", "mariadb", "--os", "ubuntu-noble",
               env={"DIB_DISTRIBUTION_MIRROR": ""})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "cannot build here:" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_image_build_of_an_unknown_os_is_a_usage_error():
    proc = cli("image", "build", "mariadb", "--os", "plan9")
    assert proc.returncode == 64 and "names no supported OS 'plan9'" in proc.stderr


def test_naming_a_guest_chooses_the_local_backend_and_records_why(tmp_path):
    """--guest is where the local backend runs engines: the default backend
    (the box, when Trove serves the datastore) never takes it silently."""
    import json
    import shutil
    import tempfile

    from tests.conftest import cli, need

    need("mariadbd")
    results = tmp_path / "results"
    work = Path(tempfile.mkdtemp(prefix="tv-gc-", dir="/tmp"))   # the service user enters it
    work.chmod(0o755)
    try:
        proc = cli("run", "mariadb", "--guest", "process", "--tier", "experimental",
                   "--version", "10.11",
                   env={"TROVE_VERIFY_RESULTS": str(results), "TROVE_VERIFY_WORKDIR": str(work)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "backend: trove" not in proc.stdout
    (record,) = [json.loads(p.read_text()) for p in results.glob("*/run.json")]
    assert record["backend"] == "local" and record["guest"] == "process"
    assert record["backend_choice"] == {
        "backend": "local", "default": False,
        "reason": "--guest process names where the local backend runs engines"}
