#!/usr/bin/env bash
# The Trove source tree `trove-verify inspect` reads in the tests: the sdist
# of the latest `trove` release on PyPI, unpacked (read as files, never
# imported). Tests look for it under the cache dir and skip, saying so, when
# it is absent.
set -euo pipefail
VENV=${VENV:-.venv}
CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
DEST="$CACHE/trove-src"
mkdir -p "$DEST"
if ls -d "$DEST"/trove-*/trove >/dev/null 2>&1; then
    echo "trove-src: already unpacked in $DEST"
    exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$VENV/bin/pip" download -q --no-deps --no-binary :all: trove -d "$TMP"
SDIST=$(ls "$TMP"/trove-*.tar.gz | head -1)
tar -xzf "$SDIST" -C "$TMP"
NAME=$(basename "$SDIST" .tar.gz)
rm -rf "${DEST:?}/$NAME.partial"
mv "$TMP/$NAME" "$DEST/$NAME.partial"
mv "$DEST/$NAME.partial" "$DEST/$NAME"
echo "trove-src: $DEST/$NAME"
