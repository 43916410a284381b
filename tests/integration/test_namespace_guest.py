"""Images from elements/ and namespace guests, for real: a DIB image (built
once, then a cache hit), MariaDB running in it on the guest's own address,
a volume that really grows, an upgrade across Debian releases, and nothing
left behind — after a clean teardown and after SIGKILL + cleanup."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, cli
from verify import catalog
from verify.guests import namespace

GUEST_NET = "10.213."


def _skip_unless_namespace_guests():
    reason = namespace.unavailable()
    if reason:
        pytest.skip(f"namespace guests cannot run here: {reason}")


@pytest.fixture(scope="module")
def images():
    """The MariaDB images (bookworm 10.11, trixie 11.8): cached, or built now."""
    _skip_unless_namespace_guests()
    from verify.guests import Images

    imgs = Images()
    try:
        imgs.prepare(catalog.load().get("mariadb"), ["10.11", "11.8"], say=lambda _: None)
    except Exception as exc:  # cannot build here: say why instead of passing
        pytest.skip(f"mariadb images unavailable: {exc}")
    return imgs


def _host_state(ids: list[str]) -> dict:
    """Mounts, netns, veth, cgroups and loop devices naming any of ids (other
    harness runs may share this machine: only ours are counted)."""
    def ours(text: str) -> bool:
        return any(i in text for i in ids)

    mounts = [ln for ln in Path("/proc/mounts").read_text().splitlines() if ours(ln)]
    netns = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                       text=True).stdout.split("\n") if ours(n)]
    links = [n for n in os.listdir("/sys/class/net") if ours(n)]
    cgroups = [str(p) for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory"))
               if base.is_dir() for p in base.glob("trove-verify-*") if ours(p.name)]
    loops = [ln for ln in subprocess.run(["losetup", "-a"], capture_output=True,
                                         text=True).stdout.splitlines() if ours(ln)]
    return {"mounts": mounts, "netns": netns, "veth": links, "cgroups": cgroups,
            "loops": loops}


def _nothing_left(ids: list[str]) -> None:
    assert _host_state(ids) == {k: [] for k in ("mounts", "netns", "veth", "cgroups",
                                                "loops")}


def test_image_build_hits_the_cache_in_under_5s(images):
    first = cli("image", "build", "mariadb", "--os", "debian-bookworm", timeout=1200)
    assert first.returncode == 0, first.stdout + first.stderr
    started = time.monotonic()
    again = cli("image", "build", "mariadb", "--os", "debian-bookworm")
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stdout + again.stderr
    assert "cache hit" in again.stdout
    assert elapsed <= 5.0, f"cache hit took {elapsed:.1f}s"
    manifest = json.loads(Path(images.by_version["10.11"].dir / "manifest.json").read_text())
    assert manifest["packages"]["mariadb-server"].split(":")[-1].startswith("10.11")
    assert "linux-image-amd64" not in manifest["packages"], "namespace images carry no kernel"
    assert len(manifest["sha256"]) == 64


def _ledger(name):
    from verify.state import Ledger
    return Ledger(f"pytest-{name}-{os.getpid()}")


def test_mariadb_answers_on_the_guests_own_address_and_teardown_is_complete(images):
    from verify.engines.mariadb import server as mariadb
    from verify.guests import create

    ledger = _ledger("ns")
    name = f"mariadb-it{os.getpid()}"
    guest = create("namespace", name, ledger, images=images,
                   version="10.11", memory_mb=512, volume_gb=1)
    ids = [name, guest.host_if]
    assert _host_state(ids)["netns"] and _host_state(ids)["veth"]
    try:
        assert guest.address.startswith(GUEST_NET)
        server = mariadb.SERVER(guest, version="10.11", memory_mb=512)
        server.start()
        # ports are the guest's own: taken where the server listens, free elsewhere
        assert not guest.port_free(server.port)
        assert guest.port_free(server.port + 1)
        ident = server.identity()
        assert (ident.name, ident.version[:5]) == ("mariadb", "10.11")
        assert "Debian 12" in ident.distribution
        # the engine runs as the image's unprivileged user, in its own pid namespace
        ps = guest.run(["ps", "-o", "user:20=,comm=", "-C", "mariadbd"], timeout=10).stdout
        assert ps.decode().split() == ["trove-verify", "mariadbd"]
        limit = (guest.cgroup / ("memory.max" if (guest.cgroup / "memory.max").exists()
                                 else "memory.limit_in_bytes")).read_text().strip()
        assert int(limit) == 512 << 20
        with server.client() as c:
            c.create_database("it")
        with server.client("it") as c:
            c.write_items({"k": "v"})
        assert 0.9 < guest.volume_size_gb() <= 1.0
        server.stop()
        guest.resize_volume(2)
        server.start()
        assert 1.9 < guest.volume_size_gb() <= 2.0
        with server.client("it") as c:
            assert c.read_items() == {"k": "v"}
        server.stop()
    finally:
        guest.destroy()
        ledger.teardown()
    assert guest.leftovers() == []
    _nothing_left(ids)


KILLED = r"""
import os, sys
from verify import catalog
from verify.engines.mariadb import server as mariadb
from verify.guests import Images, create
from verify.state import Ledger
imgs = Images(); imgs.prepare(catalog.load().get("mariadb"), ["10.11"], say=lambda _: None)
g = create("namespace", sys.argv[1], Ledger(sys.argv[1]), images=imgs, version="10.11",
           memory_mb=256, volume_gb=1)
mariadb.SERVER(g, version="10.11", memory_mb=256).start()
print("up", flush=True)
os.kill(os.getpid(), 9)
"""


def test_sigkill_then_cleanup_leaves_nothing(images):
    name = f"mariadb-kill{os.getpid()}"
    proc = subprocess.run([sys.executable, "-c", KILLED, name], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == -9 and "up" in proc.stdout, proc.stderr[-2000:]
    assert _host_state([name])["netns"], "the killed run left its guest (as a SIGKILL does)"
    out = cli("cleanup")
    assert out.returncode == 0, out.stderr
    assert f"netns tv-{name}" in out.stdout and "cgroup" in out.stdout
    _nothing_left([name])
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert name not in ps


@pytest.mark.parametrize("datastore,old,new", [
    ("mariadb", "10.11", "11.8"),       # bookworm -> trixie, mariadb-upgrade
    ("postgresql", "15", "17"),         # bookworm -> trixie, pg_upgrade
    ("redis", "7.0", "8.0"),            # bookworm -> trixie, RDB read by the new server
])
def test_upgrade_across_debian_releases_keeps_data(datastore, old, new):
    from verify.backends.local import LocalBackend
    from verify.engines.base import Credentials
    from verify.guests import Images

    _skip_unless_namespace_guests()
    cat = catalog.load()
    ds = cat.get(datastore)
    images = Images()
    try:
        images.prepare(ds, [old, new], say=lambda _: None)
    except Exception as exc:
        pytest.skip(f"{datastore} images unavailable: {exc}")
    ledger = _ledger(f"upgrade-{datastore}")
    backend = LocalBackend(cat, guest="namespace", ledger=ledger)
    backend.images = images
    try:
        inst = backend.create_instance(datastore, old, name="upgrade")
        if ds.claims("users"):
            backend.create_database(inst, "up")
            creds, database = Credentials("up_user", "Up-Secret-123456"), "up"
            backend.create_user(inst, creds.user, creds.password, ["up"])
        else:
            creds, database = backend.service_credentials(inst), None
        with backend.connect(inst, creds, database) as c:
            c.write_items({"a": "before"})
        backend.upgrade_instance(inst, new)
        ident = backend.identity(inst)
        assert ds.accepts_engine(ident.name) and ident.version.startswith(new), ident
        assert "debian-trixie" in inst.image["name"]
        with backend.connect(inst, creds, database) as c:
            assert c.read_items() == {"a": "before"}
            c.write_items({"b": "after"})
            assert c.read_items() == {"a": "before", "b": "after"}
        ids = [inst.id, inst.extra["guest"].host_if]
        backend.delete_instance(inst)
        assert backend.leftovers(inst) == []
    finally:
        backend.close()
        ledger.teardown()
    _nothing_left(ids)


def test_run_on_namespace_guests_records_guest_and_image(images, results):
    proc = cli("run", "mariadb", "--tier", "experimental", "--guest", "namespace",
               timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (bundle,) = [p for p in results.iterdir() if p.is_dir()]
    run = json.loads((bundle / "run.json").read_text())
    assert run["status"] == "pass" and run["guest"] == "namespace"
    assert run["image"]["sha256"] == images.by_version["10.11"].sha256
    assert run["images"]["11.8"]["sha256"] == images.by_version["11.8"].sha256
    manifest = json.loads((bundle / run["image"]["manifest"]).read_text())
    assert manifest["sha256"] == run["image"]["sha256"]
    versions = {s["version"]: s["engine"]["version"] for s in run["scenarios"]
                if s["status"] == "pass"}
    assert versions["10.11"].startswith("10.11") and versions["11.8"].startswith("11.8")


def test_a_guest_that_cannot_be_set_up_is_an_infra_error_and_leaves_nothing(tmp_path,
                                                                           monkeypatch):
    _skip_unless_namespace_guests()
    from verify.errors import InfraError
    from verify.runner import failure_kind
    from verify.state import Ledger

    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(tmp_path / "work"))
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    name = f"broken-{os.getpid()}"
    with pytest.raises(InfraError) as err:
        namespace.NamespaceGuest(name, Ledger(name), rootfs=rootfs, image={"name": "broken"},
                                 memory_mb=256, volume_gb=1)
    assert "could not be set up" in str(err.value) and "guest element" in str(err.value)
    # what the runner records for a scenario that died of it
    assert failure_kind(f"verify.errors.InfraError: {err.value}") == "infra"
    assert failure_kind("AssertionError: 3 != 4") == "test"
    _nothing_left([name])
    assert not (tmp_path / "work" / "instances" / name).exists()
