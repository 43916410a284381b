#!/usr/bin/env bash
# Build the guest images CI runs on namespace guests (MariaDB, PostgreSQL, Redis:
# two Debian releases each, for the upgrade scenario; MySQL 9.7 from sid;
# Cassandra 5.0 on bookworm), the box's Trove guest image (trove-guest) and the
# datastore container images Trove's guest agent runs (mariadb, postgresql,
# mysql: one per catalog version).
# Cached by content hash
# under ${TROVE_VERIFY_CACHE:-~/.cache/trove-verify}: an unchanged image is a
# cache hit in well under a second, so re-runs are fast.
# "cannot build here" (no root, no mirror) is reported and is not a CI failure:
# the tests that need an image then skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
VENV=${TROVE_VERIFY_VENV:-$PWD/.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3

status=0
for ds in ${TROVE_VERIFY_CI_IMAGES:-mariadb postgresql redis mysql cassandra trove-guest}; do
    case $ds in
        mariadb|postgresql|mysql) extra=(--containers) ;;
        *) extra=() ;;
    esac
    "$PY" -m verify image build "$ds" "${extra[@]}"
    rc=$?
    case $rc in
        0) ;;
        2) echo "ci-images: $ds: cannot build here (see above); its image tests will skip" ;;
        *) echo "ci-images: $ds: image build failed (exit $rc)" >&2; status=$rc ;;
    esac
done
exit $status
