#!/bin/bash
# Entry point of trove-verify's datastore containers (see the element README).
set -eo pipefail

log() { echo "entrypoint: $*" >&2; }

wait_for() {  # wait_for SECONDS COMMAND...: retry until it succeeds (bounded)
    local left=$1; shift
    until "$@" >/dev/null 2>&1; do
        left=$((left - 1))
        if [ "$left" -le 0 ]; then return 1; fi
        sleep 1
    done
}

mysql_family() {
    local server=$1; shift
    local client=mariadb admin=mariadb-admin install=mariadb-install-db
    if [ "$server" = mysqld ] && ! command -v mariadbd >/dev/null; then
        client=mysql admin=mysqladmin install=""
    fi
    local datadir socket
    datadir=$("$server" "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" {print $2; exit}')
    datadir=${datadir%/}
    [ -n "$datadir" ] || { log "cannot read datadir from the server's configuration"; exit 1; }
    socket=/tmp/entrypoint-init.sock
    local root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
    local fresh=""
    if [ ! -d "$datadir/mysql" ]; then
        if [ -z "$root_pw" ]; then
            log "the data directory $datadir is empty and neither MARIADB_ROOT_PASSWORD nor MYSQL_ROOT_PASSWORD is set"
            exit 1
        fi
        mkdir -p "$datadir"
        log "initialising $datadir"
        if [ -n "$install" ]; then
            "$install" --datadir="$datadir" --rpm --auth-root-authentication-method=normal \
                --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM \
                --skip-log-bin --expire-logs-days=0 \
                --loose-innodb_buffer_pool_load_at_startup=0 \
                --loose-innodb_buffer_pool_dump_at_shutdown=0 "$@" >&2
        else
            "$server" --initialize-insecure --datadir="$datadir" "$@" >&2
        fi
        fresh=1
    elif [ ! -f "$datadir/.my-healthcheck.cnf" ] && [ -n "${MARIADB_AUTO_UPGRADE:-}" ]; then
        fresh=regen      # restored data: only the health check user is missing
    fi
    if [ -n "$fresh" ]; then
        local extra=()
        [ "$fresh" = regen ] && extra=(--skip-grant-tables)
        "$server" "$@" --skip-networking --socket="$socket" --loose-wsrep-on=OFF \
            --skip-log-bin "${extra[@]}" &
        local pid=$!
        if ! wait_for 60 "$admin" --no-defaults --socket="$socket" -uroot ping; then
            log "the temporary server did not answer within 60s"; exit 1
        fi
        local hc_pw
        hc_pw=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
        {
            [ "$fresh" = regen ] && echo "FLUSH PRIVILEGES;"
            echo "SET sql_log_bin=0;"
            if [ "$fresh" = 1 ]; then
                echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${root_pw//\'/\'\'}';"
                echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
                echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw//\'/\'\'}';"
                # the installer's password-less root accounts must not stay
                echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', 'root'@'${HOSTNAME}';"
            fi
            for host in 127.0.0.1 ::1 localhost; do
                echo "CREATE USER IF NOT EXISTS 'healthcheck'@'$host' IDENTIFIED BY '$hc_pw';"
                echo "ALTER USER 'healthcheck'@'$host' IDENTIFIED BY '$hc_pw';"
                echo "GRANT USAGE ON *.* TO 'healthcheck'@'$host';"
            done
        } | "$client" --no-defaults --socket="$socket" -uroot
        umask 077
        printf '[client]\nport=3306\nhost=127.0.0.1\nprotocol=tcp\nuser=healthcheck\npassword=%s\n' \
            "$hc_pw" > "$datadir/.my-healthcheck.cnf"
        if ! "$admin" --no-defaults --socket="$socket" -uroot ${fresh:+-p"$root_pw"} shutdown \
                2>/dev/null && ! kill "$pid"; then
            log "cannot stop the temporary server"; exit 1
        fi
        wait "$pid" || true
        log "initialised; starting $server"
    fi
    exec "$server" "$@"
}

postgres_family() {
    shift   # "postgres"
    local pgdata=${PGDATA:-/var/lib/postgresql/data}
    local bindir
    # shellcheck disable=SC2012  # versioned directory names only
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    # on every start, as the official image does: a data directory restored
    # into (Trove's pg_basebackup restore untars into it) keeps the mode it
    # was made with, and postgres refuses anything wider than 0750
    mkdir -p "$pgdata"
    chmod 700 "$pgdata" || :
    if [ ! -s "$pgdata/PG_VERSION" ]; then
        if [ -z "${POSTGRES_PASSWORD:-}" ]; then
            log "the data directory $pgdata is empty and POSTGRES_PASSWORD is not set"
            exit 1
        fi
        local pwfile
        pwfile=$(mktemp)
        printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
        log "initialising $pgdata"
        # shellcheck disable=SC2086  # the official image splits these too
        "$bindir/initdb" -D "$pgdata" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 ${POSTGRES_INITDB_ARGS:-} >&2
        rm -f "$pwfile"
        printf 'host all all all scram-sha-256\n' >> "$pgdata/pg_hba.conf"
    fi
    exec "$bindir/postgres" -D "$pgdata" "$@"
}

if [ "${1:0:1}" = "-" ]; then
    if command -v mariadbd >/dev/null; then set -- mariadbd "$@"
    elif command -v mysqld >/dev/null; then set -- mysqld "$@"
    else set -- postgres "$@"; fi
fi
case "$1" in
    mariadbd|mysqld) mysql_family "$@" ;;
    postgres) postgres_family "$@" ;;
    *) exec "$@" ;;
esac
