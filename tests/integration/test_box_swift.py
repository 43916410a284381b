"""The box's real Swift: the catalog's object-store endpoint takes a
Keystone token, stores and returns an object, refuses a caller without one,
and `box down` (the shared fixture) leaves no mount, loop device or process.

Needs what tests/integration/test_trove_box.py needs, plus swift in the
Trove virtualenv (tools/setup.d/trove.sh).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import cli


def test_swift_through_the_box_catalog(box):
    _root, env = box
    status = json.loads(cli("box", "status", "--json", env=env).stdout)
    store = status["object_store"]
    assert store["swift"] and store["url"].startswith(f"http://{status['box_address']}:")
    assert store["started"]["storage_s"] > 0 and store["started"]["proxy_s"] > 0
    work = Path(env["TROVE_VERIFY_WORKDIR"]).resolve()
    mounts = [ln for ln in Path("/proc/mounts").read_text().splitlines()
              if str(work) in ln and "/swift/srv " in ln]
    assert len(mounts) == 1 and " ext4 " in mounts[0], mounts

    # openstacksdk in a process of its own: it reads the box's clouds.yaml
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env={**os.environ, **env, "OS_CLIENT_CONFIG_FILE": status["clouds_yaml"],
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    got = json.loads(probe.stdout.strip().splitlines()[-1])
    assert got["endpoint"].startswith(store["url"] + "/v1/AUTH_")
    assert got["body"] == "written through the box" and got["listed"] == ["probe-object"]
    assert got["after_delete"] == []
    # no token, no access
    try:
        urllib.request.urlopen(got["endpoint"], timeout=30)
        code = 200
    except urllib.error.HTTPError as err:
        code = err.code
    assert code == 401


_PROBE = """
import json, openstack
c = openstack.connect(cloud="trove-box")
s = c.object_store
s.create_container("tv-probe")
s.upload_object(container="tv-probe", name="probe-object", data=b"written through the box")
body = s.download_object("probe-object", container="tv-probe").decode()
listed = [o.name for o in s.objects("tv-probe")]
s.delete_object("probe-object", container="tv-probe")
s.delete_container("tv-probe")
after = [x.name for x in s.containers() if x.name == "tv-probe"]
print(json.dumps({"endpoint": s.get_endpoint(), "body": body, "listed": listed,
                  "after_delete": after}))
"""


def test_registry_serves_a_pushed_archive_by_its_layers(tmp_path, monkeypatch):
    """Debian's docker-registry on loopback: a docker-load archive pushed
    through the registry API comes back as an OCI manifest whose layers are
    the archive's, byte for byte; teardown leaves no process."""
    import hashlib
    import shutil

    import pytest

    from tests.unit.test_box_images import _fake_base
    from verify.box import containers, registry
    from verify.state import Ledger
    if shutil.which(registry.BINARY) is None:
        pytest.skip(f"{registry.BINARY} not installed (tools/setup.sh installs it)")
    monkeypatch.setenv("TROVE_VERIFY_CACHE", str(tmp_path / "cache"))
    image, _ = containers.build("postgresql", "15", base=_fake_base(tmp_path),
                                say=lambda _: None)
    ledger = Ledger("reg-test", tmp_path / "state")
    reg = registry.Registry(root=tmp_path / "registry", ledger=ledger, logs=tmp_path)
    try:
        reg.start("127.0.0.1")
        name = reg.push(image, "trove-test:15")
        assert name == f"127.0.0.1:{reg.port}/trove-test:15"
        code, _h, body = reg._call("GET", "/v2/trove-test/manifests/15",
                                   headers={"Accept": registry.OCI_MANIFEST})
        assert code == 200, body
        manifest = json.loads(body)
        import tarfile
        with tarfile.open(image.tar) as tar:
            (entry,) = json.load(tar.extractfile("manifest.json"))
            config = json.loads(tar.extractfile(entry["Config"]).read())
        assert [x["digest"] for x in manifest["layers"]] == config["rootfs"]["diff_ids"]
        for layer in manifest["layers"]:
            code, _h, blob = reg._call("GET", f"/v2/trove-test/blobs/{layer['digest']}")
            assert code == 200 and f"sha256:{hashlib.sha256(blob).hexdigest()}" == \
                layer["digest"]
        assert reg.push(image, "trove-test:15") == name      # blobs already there: no-op
    finally:
        reg.stop()
        ledger.teardown()
    assert reg.proc.poll() is not None
