#!/usr/bin/env bash
# Flakes show here before the gate sees them: run each local
# technical-preview suite N times and print the pass rate per scenario.
# usage: bench/flakes.sh [N] [DATASTORE ...] [-- run options, e.g. --guest process]
#   N           runs per datastore (default 5; or FLAKE_RUNS=N)
#   DATASTORE   default: every datastore the catalog claims at technical
#               preview or above that has an engine module here
# Uses the public CLI only (trove-verify catalog / run) and each run's run.json.
# A scenario that passed in some runs and failed in others is FLAKY; a run
# that could not start here (exit 2 before any bundle) is said, never counted.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${FLAKE_RUNS:-5}
if [[ ${1:-} =~ ^[0-9]+$ ]]; then N=$1; shift; fi
if [ "$N" -lt 1 ]; then echo "flakes.sh: N must be at least 1" >&2; exit 64; fi
DATASTORES=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do DATASTORES+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
if [ ${#DATASTORES[@]} -eq 0 ]; then
    mapfile -t DATASTORES < <($PY -m verify catalog --format json | $PY -c '
import json, sys
tiers = ("technical-preview", "stable")
for name, ds in json.load(sys.stdin).items():
    if ds.get("claimed_tier") in tiers and ds.get("engine_module"):
        print(name)')
fi
WORK=$(mktemp -d /tmp/tv-flakes-XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK/w"' EXIT     # results stay for a look at the failures
echo "flakes: ${DATASTORES[*]} x $N runs, tier technical-preview $*; results in $WORK/results"
for ds in "${DATASTORES[@]}"; do
    for i in $(seq "$N"); do
        s=$(date +%s)
        rc=0
        TROVE_VERIFY_RESULTS="$WORK/results/$ds" TROVE_VERIFY_WORKDIR="$WORK/w" \
            $PY -m verify run "$ds" --tier technical-preview "$@" >"$WORK/$ds-$i.log" 2>&1 \
            || rc=$?
        echo "$ds run $i/$N: exit $rc in $(( $(date +%s) - s ))s (load $(cut -d' ' -f1 /proc/loadavg))"
        if [ "$rc" -gt 2 ]; then tail -1 "$WORK/$ds-$i.log"; fi
    done
done
$PY - "$WORK/results" "$N" <<'PYEOF'
import json, sys
from collections import defaultdict
from pathlib import Path

root, wanted = Path(sys.argv[1]), int(sys.argv[2])
for ds_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
    runs = [json.loads(p.read_text()) for p in sorted(ds_dir.glob("*/run.json"))]
    print(f"\n{ds_dir.name}: {len(runs)} bundle(s) of {wanted} runs "
          f"({sum(r['status'] == 'incomplete' for r in runs)} incomplete)")
    seen = defaultdict(lambda: defaultdict(int))
    for run in runs:
        for s in run["scenarios"]:
            key = (s["id"], s.get("version") or "", s.get("strategy") or "")
            kind = s["status"] if s["status"] != "fail" else \
                ("fail-infra" if s.get("failure_kind") == "infra" else "fail")
            seen[key][kind] += 1
    print(f"  {'pass rate':>9}  {'pass':>4} {'fail':>4} {'infra':>5} {'skip':>4}  scenario")
    for (sid, version, strategy), c in sorted(seen.items()):
        tried = c["pass"] + c["fail"]
        rate = f"{100 * c['pass'] / tried:.0f}%" if tried else "-"
        flag = "  FLAKY" if c["pass"] and c["fail"] else ("  FAILS" if c["fail"] else "")
        print(f"  {rate:>9}  {c['pass']:>4} {c['fail']:>4} {c['fail-infra']:>5} "
              f"{c['skipped']:>4}  {sid} {version} {strategy}{flag}")
PYEOF
