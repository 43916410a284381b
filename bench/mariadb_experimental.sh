#!/usr/bin/env bash
# Like for like: `trove-verify run mariadb --version 10.11 --tier experimental`
# against the same operations done by hand with MariaDB's own tools, once per
# guest kind, each against its own plain counterpart:
#   process guest   vs  a plain mariadbd process on the host;
#   namespace guest vs  a plain mariadbd in a namespace made by hand the way a
#                       namespace guest is (overlay over the same DIB rootfs,
#                       private net/mount/pid/uts/ipc namespaces, chroot);
#                       the client talks over the namespace's loopback, not a veth.
# Both guests are also compared with the one plain process (the figure a user
# who runs MariaDB by hand would compare with).
# One version on both sides, and the same work: the harness copies a pristine
# data directory made once by mariadb-install-db (16 MB redo log), so the
# plain side does too (made before timing starts). Interleaved rounds; prints
# medians and both ratios.
# The namespace pair needs root and the debian-bookworm mariadb image (built
# first if missing); without root it is skipped and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
VERSION=10.11
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/tv-bench-XXXXXX); chmod 755 "$WORK"
MERGED=$WORK/ns/merged
cleanup() {
    mountpoint -q "$MERGED/pristine" 2>/dev/null && umount -l "$MERGED/pristine"
    mountpoint -q "$MERGED" 2>/dev/null && umount -l "$MERGED"
    rm -rf "$WORK"
}
trap cleanup EXIT
ROOT=0; [ "$(id -u)" -eq 0 ] && ROOT=1
RUN_AS=()
if [ "$ROOT" -eq 1 ]; then RUN_AS=(setpriv --reuid=trove-verify --regid=trove-verify --clear-groups --); fi

# the whole experimental scenario by hand: init, secure, start, first query,
# a database and a user, write and read as that user, stop
SQL_INIT="DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host<>'localhost');
FLUSH PRIVILEGES;
CREATE USER a@'%' IDENTIFIED BY 'pw1';
GRANT ALL ON *.* TO a@'%' WITH GRANT OPTION;"
# shellcheck disable=SC2016  # expanded by the shell that runs it
SCENARIO='d=$1; port=$2; pristine=$3
cp -a "$pristine/." "$d/data"
mariadbd --defaults-file="$d/my.cnf" --init-file="$d/init.sql" >"$d/log/console.log" 2>&1 &
pid=$!
until mariadb --no-defaults -h127.0.0.1 -P"$port" -ua -ppw1 -e "SELECT 1" >/dev/null 2>&1; do
    sleep 0.05; done
mariadb --no-defaults -h127.0.0.1 -P"$port" -ua -ppw1 -e "CREATE DATABASE d;
    CREATE USER u@\"%\" IDENTIFIED BY \"pw2\"; GRANT ALL ON d.* TO u@\"%\";"
mariadb --no-defaults -h127.0.0.1 -P"$port" -uu -ppw2 d -e "CREATE TABLE t (k VARCHAR(64)
    PRIMARY KEY, v TEXT); INSERT INTO t VALUES (\"a\",\"1\"),(\"b\",\"2\");"
mariadb --no-defaults -h127.0.0.1 -P"$port" -uu -ppw2 d -e "SELECT * FROM t" >/dev/null
kill "$pid"; wait "$pid" || true'

config() {  # DIR PORT USER
    mkdir -p "$1"/{data,run,log}
    printf '[mysqld]\nuser=%s\ndatadir=%s/data\nsocket=%s/run/s.sock\nport=%s\nbind-address=127.0.0.1\nlog-error=%s/log/e.log\nskip-name-resolve\ninnodb_buffer_pool_size=128M\ninnodb_log_file_size=16M\ninnodb_flush_log_at_trx_commit=2\n' \
        "$3" "$1" "$1" "$2" "$1" > "$1/my.cnf"
    printf '%s\n' "$SQL_INIT" > "$1/init.sql"
    chmod 644 "$1/my.cnf" "$1/init.sql"
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

plain_process() {
    local d="$WORK/plain" port
    port=$(free_port)
    rm -rf "$d"; config "$d" "$port" trove-verify
    [ "$ROOT" -eq 1 ] && chown -R trove-verify "$d"
    "${RUN_AS[@]}" bash -c "$SCENARIO" _ "$d" "$port" "$WORK/pristine"
    rm -rf "$d"
}

pristine() {  # the data directory both plain sides copy, made once, untimed
    local d="$WORK/pristine-init"
    config "$d" 3306 trove-verify
    [ "$ROOT" -eq 1 ] && chown -R trove-verify "$d"
    "${RUN_AS[@]}" mariadb-install-db --defaults-file="$d/my.cnf" \
        --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
    mv "$d/data" "$WORK/pristine"
    chmod 755 "$WORK/pristine"
}

plain_namespace() {
    local ns="$WORK/ns"
    rm -rf "$ns/upper" "$ns/work"; mkdir -p "$ns/upper" "$ns/work" "$MERGED"
    mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$ns/upper,workdir=$ns/work" "$MERGED"
    config "$MERGED/srv" 3306 mysql
    mkdir -p "$MERGED/pristine"
    mount --bind "$WORK/pristine-ns" "$MERGED/pristine"
    chroot "$MERGED" chown -R mysql /srv
    sed -i "s|$MERGED||g" "$MERGED/srv/my.cnf"
    # shellcheck disable=SC2016  # expanded inside the namespace
    unshare --net --mount --pid --uts --ipc --fork bash -c '
        ip link set lo up
        mount -t proc proc "$1/proc"
        exec chroot "$1" bash -c "$2" _ /srv 3306 /pristine' _ "$MERGED" "$SCENARIO"
    umount "$MERGED/pristine"
    umount "$MERGED"
}

harness() {  # GUEST
    TROVE_VERIFY_RESULTS="$WORK/results" TROVE_VERIFY_WORKDIR="$WORK/w" \
        $PY -m verify run mariadb --version "$VERSION" --tier experimental --guest "$1" >/dev/null
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_it() { local s e; s=$(date +%s.%N); "$@"; e=$(date +%s.%N); echo "$e - $s" | bc; }
report() {  # LABEL PLAIN_LABEL PLAIN_TIMES... -- HARNESS_TIMES...
    local label=$1 plain=$2; shift 2
    local p=() h=() side=p
    for x in "$@"; do
        if [ "$x" = "--" ]; then side=h; continue; fi
        if [ "$side" = p ]; then p+=("$x"); else h+=("$x"); fi
    done
    local mp mh
    mp=$(printf '%s\n' "${p[@]}" | median)
    mh=$(printf '%s\n' "${h[@]}" | median)
    echo "$label guest vs $plain: plain median ${mp}s, trove-verify median ${mh}s" \
         "over $ROUNDS; ratio $(echo "scale=2; $mh / $mp" | bc)x (target <= 1.5x)"
}

pristine
ROOTFS=""
if [ "$ROOT" -eq 1 ]; then
    $PY -m verify image build mariadb --os debian-bookworm >/dev/null
    ROOTFS=$($PY -c 'from verify import catalog, images
print(images.cached(images.spec_for(catalog.default().get("mariadb"), "debian-bookworm")).rootfs())')
    # the same pristine data dir, owned by the guest's mysql user (untimed)
    cp -a "$WORK/pristine" "$WORK/pristine-ns"
    chown -R "$(chroot "$ROOTFS" id -u mysql)" "$WORK/pristine-ns"
fi

PP=(); HP=(); PN=(); HN=()
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
for _ in $(seq "$ROUNDS"); do   # interleaved so machine noise hits both alike
    PP+=("$(time_it plain_process)")
    HP+=("$(time_it harness process)")
    if [ -n "$ROOTFS" ]; then
        PN+=("$(time_it plain_namespace)")
        HN+=("$(time_it harness namespace)")
    fi
done
echo "MariaDB $VERSION, tier experimental (create, database, user, write/read, delete);" \
     "load average $LOAD0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end:"
report process "plain process" "${PP[@]}" -- "${HP[@]}"
if [ -n "$ROOTFS" ]; then
    report namespace "plain process" "${PP[@]}" -- "${HN[@]}"
    report namespace "plain namespace" "${PN[@]}" -- "${HN[@]}"
else
    echo "namespace guest: not measured (needs root and the debian-bookworm mariadb image)"
fi
