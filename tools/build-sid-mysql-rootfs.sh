#!/bin/bash
# Build (once) the Debian sid root filesystem the local MySQL runs in.
#
# MySQL 9.7 is packaged only in Debian unstable and needs sid's C library,
# so it runs in a namespace guest made from this tree. The tree is cached
# under $TROVE_VERIFY_CACHE (default ~/.cache/trove-verify) and reused; the
# mirror is read from this host's apt sources, never hard-coded.
# Usage: tools/build-sid-mysql-rootfs.sh [--force]   (needs root)
set -euo pipefail

CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
ROOT=$CACHE/rootfs/debian-sid-mysql
PACKAGES="mysql-server mysql-client"

if [ -f "$ROOT/.trove-verify-manifest" ] && [ "${1:-}" != "--force" ]; then
    echo "sid MySQL root filesystem cached at $ROOT"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "building the sid MySQL root filesystem needs root (debootstrap, chroot)" >&2
    exit 3
fi

mirror() {
    local uri
    uri=$(grep -hE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
          | awk '{print $2}' | grep -v -- '-security' | head -1 || true)
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
              /etc/apt/sources.list | grep -v -- '-security' | head -1 || true)
    fi
    [ -n "$uri" ] || { echo "no Debian mirror found in this host's apt sources" >&2; exit 3; }
    echo "$uri"
}

command -v debootstrap >/dev/null || apt-get install -y -q debootstrap >/dev/null
MIRROR=$(mirror)
TMP=$ROOT.building.$$
mkdir -p "$(dirname "$ROOT")"
cleanup() {
    mountpoint -q "$TMP/proc" 2>/dev/null && umount "$TMP/proc"
    rm -rf "$TMP"
}
trap cleanup EXIT

start=$(date +%s)
debootstrap --variant=minbase sid "$TMP" "$MIRROR" >"$CACHE/rootfs/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/rootfs/debootstrap.log" >&2; exit 1; }
# No service may start inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"
chmod 755 "$TMP/usr/sbin/policy-rc.d"
mount -t proc proc "$TMP/proc"
chroot "$TMP" env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 \
    apt-get install -y -q --no-install-recommends $PACKAGES >"$CACHE/rootfs/apt.log" 2>&1 \
    || { tail -20 "$CACHE/rootfs/apt.log" >&2; exit 1; }
chroot "$TMP" apt-get clean
umount "$TMP/proc"
# The package's own data directory is not used: instances initialise their own.
rm -rf "$TMP/var/lib/mysql"/* "$TMP/var/lib/apt/lists"/*
chroot "$TMP" dpkg-query -W -f '${Package} ${Version}\n' >"$TMP/.trove-verify-manifest"
rm -rf "$ROOT"
mv "$TMP" "$ROOT"
trap - EXIT
echo "sid MySQL root filesystem built at $ROOT in $(( $(date +%s) - start ))s:" \
     "$(grep '^mysql-server-core' "$ROOT/.trove-verify-manifest" || true)"
