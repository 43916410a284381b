#!/bin/bash
# MariaDB's container health check, the options Trove's guest agent uses:
#   healthcheck.sh [--defaults-file FILE] [--connect] [--innodb_initialized]
# (the other official options are accepted and checked as --connect).
set -u
defaults=()
checks=()
while [ $# -gt 0 ]; do
    case "$1" in
        --defaults-file=*) defaults=(--defaults-file="${1#*=}") ;;
        --defaults-file) defaults=(--defaults-file="$2"); shift ;;
        --connect|--innodb_initialized) checks+=("$1") ;;
        --*) checks+=(--connect) ;;
        *) echo "healthcheck.sh: unknown argument $1" >&2; exit 1 ;;
    esac
    shift
done
[ ${#checks[@]} -gt 0 ] || checks=(--connect)
client=mariadb
command -v mariadb >/dev/null || client=mysql
for check in "${checks[@]}"; do
    case "$check" in
        --connect)
            "$client" "${defaults[@]}" -N -B -e 'SELECT 1' >/dev/null 2>&1 || exit 1 ;;
        --innodb_initialized)
            out=$("$client" "${defaults[@]}" -N -B -e "SELECT 1 FROM information_schema.ENGINES
                WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>/dev/null)
            [ "$out" = 1 ] || exit 1 ;;
    esac
done
exit 0
