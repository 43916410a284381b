#!/usr/bin/env bash
# trove-verify run DS --tier technical-preview, timed (usage: bench/preview.sh DS;
# used for postgresql and redis, Redis Cluster included).
# Prints the wall time per round, the median, the slowest scenarios of the
# last round (from its run.json) and the target (<= 90 s on 2 cores).
set -euo pipefail
DS=${1:?usage: bench/preview.sh DATASTORE}
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-2}
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/tv-bench-XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
T=()
for i in $(seq "$ROUNDS"); do
    s=$(date +%s.%N)
    TROVE_VERIFY_RESULTS="$WORK/results" TROVE_VERIFY_WORKDIR="$WORK/w" \
        $PY -m verify run "$DS" --tier technical-preview --workers "$WORKERS" >/dev/null
    e=$(date +%s.%N)
    T+=("$(echo "$e - $s" | bc)")
    echo "round $i: ${T[-1]}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "$DS technical-preview suite, $WORKERS workers, $(nproc) cores: median" \
     "$(printf '%s\n' "${T[@]}" | median)s over $ROUNDS (target <= 90s)"
last=$(ls -d "$WORK"/results/*/ | tail -1)
$PY - "$last/run.json" <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
print(f"last run: {run['status']}, wall {run.get('wall_s')}s; slowest scenarios:")
for s in sorted(run["scenarios"], key=lambda s: -s["duration_s"])[:6]:
    print(f"  {s['duration_s']:6.1f}s  {s['status']:7} {s['id']} {s['strategy'] or ''}")
PYEOF
