#!/usr/bin/env bash
# trove-verify run cassandra --tier technical-preview (3-node cluster, grow,
# shrink, nodetool snapshot restore included), timed; samples the summed RSS
# of this run's Cassandra JVMs. Prints wall time per round, the median, the
# peak memory, the slowest scenarios and the targets (<= 240 s on 2 cores;
# the cluster within 4 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-1}
WORKERS=${WORKERS:-2}
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/tv-bench-XXXXXX); chmod 755 "$WORK"
KEEP=0
SAMPLER=""
cleanup() {
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    if [ "$KEEP" = 1 ]; then echo "kept $WORK/results for the failed round"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# summed RSS (MB) of the JVMs whose command line names this bench's work dir
sample_rss() {
    local peak=0 now
    while true; do
        now=$(ps -eo rss=,args= | awk -v w="$WORK/w" 'index($0, w) && /CassandraDaemon/ {s+=$1} END {print int(s/1024)}')
        [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" > "$WORK/peak-rss"
        sleep 1
    done
}
echo 0 > "$WORK/peak-rss"
sample_rss & SAMPLER=$!

T=()
for i in $(seq "$ROUNDS"); do
    s=$(date +%s.%N)
    rc=0
    TROVE_VERIFY_RESULTS="$WORK/results" TROVE_VERIFY_WORKDIR="$WORK/w" \
        $PY -m verify run cassandra --tier technical-preview --guest process \
        --workers "$WORKERS" >"$WORK/round-$i.log" || rc=$?
    e=$(date +%s.%N)
    if [ "$rc" != 0 ]; then
        KEEP=1; echo "round $i: exit $rc"; grep -E "^\[.*fail" "$WORK/round-$i.log" || true
    fi
    T+=("$(echo "$e - $s" | bc)")
    echo "round $i: ${T[-1]}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "technical-preview suite, $WORKERS workers, $(nproc) cores: median" \
     "$(printf '%s\n' "${T[@]}" | median)s over $ROUNDS (target <= 240s)"
echo "peak RSS of this run's Cassandra JVMs: $(cat "$WORK/peak-rss") MB (target: cluster <= 4096 MB)"
last=$(find "$WORK/results" -mindepth 1 -maxdepth 1 -type d | sort | tail -1)
$PY - "$last/run.json" <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
print(f"last run: {run['status']}, engine {run['engine']}; slowest scenarios:")
for s in sorted(run["scenarios"], key=lambda s: -s["duration_s"])[:6]:
    print(f"  {s['duration_s']:6.1f}s  {s['status']:7} {s['id']} {s['strategy'] or ''}")
PYEOF
