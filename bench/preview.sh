#!/usr/bin/env bash
# trove-verify run DS --tier technical-preview, timed, for any datastore.
# usage: bench/preview.sh DATASTORE [run options, e.g. --guest process]
# Prints the wall time per round and its median against the target
# (TARGET seconds; default 240 for cassandra, 180 for mongodb (two versions,
# each with a 3-member replica set), 90 otherwise, on 2 cores), the
# peak summed RSS of the run's guest processes (every guest process works
# inside the run's work dir; Cassandra's 3-node cluster must fit 4096 MB),
# and the slowest scenarios of the last round from its run.json. A failed
# round keeps its results and says where.
set -euo pipefail
DS=${1:?usage: bench/preview.sh DATASTORE [run options]}
shift
cd "$(dirname "$0")/.."
case $DS in
    cassandra) TARGET=${TARGET:-240} ;;
    mongodb) TARGET=${TARGET:-180} ;;
    *) TARGET=${TARGET:-90} ;;
esac
ROUNDS=${ROUNDS:-3}
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
# summed RSS (MB) of the processes whose working directory is in the work dir
sample_rss() {
    local peak=0 now p cwd kb
    while true; do
        now=0
        for p in /proc/[0-9]*; do
            cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
            case $cwd in
                "$WORK/w"*)
                    # zombies have no VmRSS; a process may be gone by now
                    kb=$(awk '/^VmRSS/ {print $2}' "$p/status" 2>/dev/null || true)
                    now=$((now + ${kb:-0})) ;;
            esac
        done
        now=$((now / 1024))
        if [ "$now" -gt "$peak" ]; then peak=$now; echo "$peak" > "$WORK/peak-rss"; fi
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
        $PY -m verify run "$DS" --tier technical-preview --workers "$WORKERS" "$@" \
        >"$WORK/round-$i.log" || rc=$?
    e=$(date +%s.%N)
    if [ "$rc" != 0 ]; then
        KEEP=1; echo "round $i: exit $rc"; grep -E "^\[.*fail" "$WORK/round-$i.log" || true
    fi
    T+=("$(echo "$e - $s" | bc)")
    echo "round $i: ${T[-1]}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
done
echo "$DS technical-preview suite $*, $WORKERS workers, $(nproc) cores: median" \
     "$(printf '%s\n' "${T[@]}" | median)s over $ROUNDS (target <= ${TARGET}s)"
echo "peak RSS of the run's guest processes: $(cat "$WORK/peak-rss") MB"
last=$(find "$WORK/results" -mindepth 1 -maxdepth 1 -type d | sort | tail -1)
$PY - "$last/run.json" <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
print(f"last run: {run['status']} on {run['guest']} guests, engine {run['engine']}, "
      f"wall {run.get('wall_s')}s; slowest scenarios:")
for s in sorted(run["scenarios"], key=lambda s: -s["duration_s"])[:6]:
    print(f"  {s['duration_s']:6.1f}s  {s['status']:7} {s['id']} {s['strategy'] or ''}")
PYEOF
