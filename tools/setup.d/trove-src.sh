#!/usr/bin/env bash
# The Trove source trees `trove-verify inspect` reads in the tests: the sdist
# of the latest `trove` release on PyPI and of 13.0.1 (Ussuri, the last
# release before containerization, with datastores under experimental/),
# unpacked into the cache dir (read as files, never imported). Tests look
# for them there and skip, saying so, when they are absent.
set -euo pipefail
VENV=${VENV:-.venv}
CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
DEST="$CACHE/trove-src"
PRE_VICTORIA=13.0.1
mkdir -p "$DEST"

fetch() {  # fetch SPEC: download and unpack one sdist into $DEST
    local spec=$1 tmp sdist name
    tmp=$(mktemp -d)
    "$VENV/bin/pip" download -q --no-deps --no-binary :all: "$spec" -d "$tmp"
    sdist=$(ls "$tmp"/trove-*.tar.gz | head -1)
    tar -xzf "$sdist" -C "$tmp"
    name=$(basename "$sdist" .tar.gz)
    if [ -d "$DEST/$name/trove" ]; then
        echo "trove-src: $name already unpacked in $DEST"
    else
        rm -rf "${DEST:?}/$name.partial"
        mv "$tmp/$name" "$DEST/$name.partial"
        mv "$DEST/$name.partial" "$DEST/$name"
        echo "trove-src: $DEST/$name"
    fi
    rm -rf "$tmp"
}

# the latest release: fetched once (any tree but the pinned old one counts)
if ls -d "$DEST"/trove-*/trove 2>/dev/null | grep -qv "trove-$PRE_VICTORIA/"; then
    echo "trove-src: a recent release is already unpacked in $DEST"
else
    fetch trove
fi
if [ -d "$DEST/trove-$PRE_VICTORIA/trove" ]; then
    echo "trove-src: trove-$PRE_VICTORIA already unpacked in $DEST"
else
    fetch "trove==$PRE_VICTORIA"
fi
