#!/usr/bin/env bash
# trove-verify run mariadb --tier technical-preview (Galera included), timed.
# Prints the wall time per round, the median, the slowest scenarios of the
# last round (from its run.json) and the target (<= 90 s on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-2}
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/tv-bench-XXXXXX); chmod 755 "$WORK"
KEEP=0
trap '[ "$KEEP" = 1 ] && echo "kept $WORK/results for the failed round" || rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
T=()
for i in $(seq "$ROUNDS"); do
    s=$(date +%s.%N)
    rc=0
    TROVE_VERIFY_RESULTS="$WORK/results" TROVE_VERIFY_WORKDIR="$WORK/w" \
        $PY -m verify run mariadb --tier technical-preview --workers "$WORKERS" \
        >"$WORK/round-$i.log" || rc=$?
    e=$(date +%s.%N)
    if [ "$rc" != 0 ]; then
        KEEP=1; echo "round $i: exit $rc"; grep -E "^\[.*fail" "$WORK/round-$i.log" || true
    fi
    T+=("$(echo "$e - $s" | bc)")
    echo "round $i: ${T[-1]}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "technical-preview suite, $WORKERS workers, $(nproc) cores: median" \
     "$(printf '%s\n' "${T[@]}" | median)s over $ROUNDS (target <= 90s)"
last=$(ls -d "$WORK"/results/*/ | tail -1)
$PY - "$last/run.json" <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
print(f"last run: {run['status']}, wall {run.get('wall_s')}s; slowest scenarios:")
for s in sorted(run["scenarios"], key=lambda s: -s["duration_s"])[:6]:
    print(f"  {s['duration_s']:6.1f}s  {s['status']:7} {s['id']} {s['strategy'] or ''}")
PYEOF
