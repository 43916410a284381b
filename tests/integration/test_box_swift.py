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
from tests.integration.test_trove_box import box, box_env  # noqa: F401 (fixtures)


def test_swift_through_the_box_catalog(box):  # noqa: F811
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
