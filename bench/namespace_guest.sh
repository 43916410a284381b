#!/usr/bin/env bash
# MariaDB create -> first query on a namespace guest (from the bookworm DIB
# image, after the image exists) vs a process guest, medians over ROUNDS.
# Needs root (namespace guests); builds/finds the image first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
WORK=$(mktemp -d /tmp/tv-bench-ns-XXXXXX); chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
"$PY" -m verify image build mariadb --os debian-bookworm >/dev/null
TROVE_VERIFY_WORKDIR="$WORK/w" PYTHONPATH=$PWD "$PY" bench/namespace_guest.py
