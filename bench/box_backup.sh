#!/usr/bin/env bash
# Backups through the box: Swift's start-up (from the box's status), one
# mariadb instance's full backup (create -> COMPLETED) and its restore into a
# new instance (create -> ACTIVE), through troveclient against the real
# Trove 26, and the mariadb technical-preview suite through the box against
# `--backend local`, printed as ratios. Figures, not a timed test. Needs what
# bench/box.sh needs plus swift in the Trove virtualenv and docker-registry
# (tools/setup.sh). Everything is torn down at the end (box down).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WORK=$(mktemp -d /tmp/tv-bench-backup-XXXXXX); chmod 755 "$WORK"
export TROVE_VERIFY_WORKDIR="$WORK/w" TROVE_VERIFY_RESULTS="$WORK/results" PYTHONPATH=$PWD
down() { "$PY" -m verify box down >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap down EXIT

secs() { "$PY" -c 'import sys,time; print(f"{time.monotonic()-float(sys.argv[1]):.1f}")' "$1"; }
now() { "$PY" -c 'import time; print(time.monotonic())'; }

"$PY" -m verify box up >/dev/null
"$PY" - <<'PYEOF'
import json, time
from verify.backends.trove_cloud import open_cloud
from verify.box import client
from verify.box.paths import BoxPaths

status = json.loads(BoxPaths.default().status.read_text())
started = status["object_store"]["started"]
print(f"Swift start-up: storage servers {started['storage_s']:.1f} s (rings, loop-mounted "
      f"ext4, 3 servers), proxy {started['proxy_s']:.1f} s; whole box "
      f"{status['started_in_s']:.1f} s")

client.use_clouds_yaml("trove-box")
trove = open_cloud("trove-box").trove


def wait(get, done, what, limit=1200):
    start = time.monotonic()
    while True:
        obj = get()
        if obj.status in done:
            return obj, time.monotonic() - start
        if obj.status in ("ERROR", "FAILED") or time.monotonic() - start > limit:
            raise SystemExit(f"{what}: {obj.status} after {time.monotonic() - start:.0f} s")
        time.sleep(0.5)


# the box serves volumes: Trove then requires a volume size
inst = trove.instances.create("bench-src", "2", datastore="mariadb", datastore_version="10.11",
                              volume={"size": 1})
_, created = wait(lambda: trove.instances.get(inst.id), ("ACTIVE", "HEALTHY"), "create")
start = time.monotonic()
backup = trove.backups.create("bench-backup", inst.id)
_, backed = wait(lambda: trove.backups.get(backup.id), ("COMPLETED",), "backup")
restored = trove.instances.create("bench-restore", "2", datastore="mariadb",
                                  datastore_version="10.11", volume={"size": 1},
                                  restorePoint={"backupRef": backup.id})
_, restore = wait(lambda: trove.instances.get(restored.id), ("ACTIVE", "HEALTHY"), "restore")
print(f"create -> ACTIVE {created:.1f} s; backup -> COMPLETED {backed:.1f} s; "
      f"restore into a new instance -> ACTIVE {restore:.1f} s "
      f"({restore / created:.1f}x a plain create)")
for i in (restored.id, inst.id):
    trove.instances.delete(i)
trove.backups.delete(backup.id)
PYEOF

t=$(now); "$PY" -m verify run mariadb --tier technical-preview --version 10.11 >/dev/null || true
box=$(secs "$t")
t=$(now); "$PY" -m verify run mariadb --tier technical-preview --version 10.11 \
    --backend local >/dev/null || true
local=$(secs "$t")
"$PY" - "$WORK/results" "$box" "$local" <<'PYEOF'
import json, pathlib, sys
runs = sorted(pathlib.Path(sys.argv[1]).rglob("run.json"), key=lambda p: p.stat().st_mtime)
box, local = float(sys.argv[2]), float(sys.argv[3])
for label, path, took in (("box", runs[-2], box), ("local", runs[-1], local)):
    rec = json.loads(path.read_text())
    counts = {}
    for s in rec["scenarios"]:
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    print(f"mariadb technical-preview via {label:<5} {took:8.1f} s  {rec['status']:<6} {counts}")
print(f"  the box takes {box / local:.1f}x the local backend's time")
PYEOF
