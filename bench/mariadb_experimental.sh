#!/usr/bin/env bash
# trove-verify run mariadb --tier experimental  vs  the same operations done
# by hand with MariaDB's own tools, measured side by side in one run.
# Prints median wall times and the ratio (target: <= 1.5x).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/tv-bench-XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then RUN_AS=(setpriv --reuid=trove-verify --regid=trove-verify --clear-groups --); fi

plain() {
    local d="$WORK/plain" port
    rm -rf "$d"; mkdir -p "$d"/{data,run,log}
    [ "$(id -u)" -eq 0 ] && chown -R trove-verify "$d"
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    printf '[mysqld]\ndatadir=%s/data\nsocket=%s/run/s.sock\nport=%s\nbind-address=127.0.0.1\nlog-error=%s/log/e.log\nskip-name-resolve\ninnodb_buffer_pool_size=128M\ninnodb_flush_log_at_trx_commit=2\n' \
        "$d" "$d" "$port" "$d" > "$d/my.cnf"
    chmod 644 "$d/my.cnf"
    "${RUN_AS[@]}" mariadb-install-db --defaults-file="$d/my.cnf" \
        --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
    printf "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host<>'localhost');\nFLUSH PRIVILEGES;\nCREATE USER a@'%%' IDENTIFIED BY 'pw1';\nGRANT ALL ON *.* TO a@'%%' WITH GRANT OPTION;\n" > "$d/init.sql"
    [ "$(id -u)" -eq 0 ] && chown trove-verify "$d/init.sql"
    "${RUN_AS[@]}" mariadbd --defaults-file="$d/my.cnf" --init-file="$d/init.sql" >"$d/log/console.log" 2>&1 &
    local pid=$!
    until mariadb --no-defaults -h127.0.0.1 -P"$port" -ua -ppw1 -e 'SELECT 1' >/dev/null 2>&1; do sleep 0.05; done
    mariadb --no-defaults -h127.0.0.1 -P"$port" -ua -ppw1 -e "CREATE DATABASE d; CREATE USER u@'%' IDENTIFIED BY 'pw2'; GRANT ALL ON d.* TO u@'%';"
    mariadb --no-defaults -h127.0.0.1 -P"$port" -uu -ppw2 d -e "CREATE TABLE t (k VARCHAR(64) PRIMARY KEY, v TEXT); INSERT INTO t VALUES ('a','1'),('b','2');"
    mariadb --no-defaults -h127.0.0.1 -P"$port" -uu -ppw2 d -e "SELECT * FROM t" >/dev/null
    kill "$pid"; wait "$pid" || true
    rm -rf "$d"
}

harness() {
    TROVE_VERIFY_RESULTS="$WORK/results" TROVE_VERIFY_WORKDIR="$WORK/w" \
        $PY -m verify run mariadb --tier experimental >/dev/null
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }

P=(); H=()
for _ in $(seq "$ROUNDS"); do   # interleaved so machine noise hits both alike
    P+=("$(time_it plain)")
    H+=("$(time_it harness)")
done
mp=$(printf '%s\n' "${P[@]}" | median)
mh=$(printf '%s\n' "${H[@]}" | median)
echo "plain shell (mariadb tools): median ${mp}s over $ROUNDS"
echo "trove-verify run --tier experimental: median ${mh}s over $ROUNDS"
echo "ratio harness/plain: $(echo "scale=2; $mh / $mp" | bc)x (target <= 1.5x)"
