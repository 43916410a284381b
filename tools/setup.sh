#!/usr/bin/env bash
# One set-up command for a fresh Debian 12 machine: Debian packages, the
# unprivileged service user, the virtualenv (.venv) with trove-verify in it.
# Idempotent; safe to re-run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${TROVE_VERIFY_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}

DEB_PACKAGES=(
    # engines launched on process guests, and their tools
    mariadb-server mariadb-client mariadb-backup galera-4 rsync socat
    postgresql postgresql-client redis-server redis-tools
    # guests: namespaces, overlayfs, images
    iproute2 util-linux procps psmisc debootstrap squashfs-tools qemu-utils
    kpartx dosfstools e2fsprogs uuid-runtime
    # Trove in a box: its RPC server, and docker for the guests' datastore
    # containers (each guest runs its own dockerd; the service stays off)
    rabbitmq-server docker.io docker-registry
    # the harness itself
    python3 python3-venv python3-dev git build-essential
    # linting shell in devstack/ and tools/
    shellcheck
)

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "setup: need root (or sudo) to install Debian packages" >&2
    exit 77
fi

echo "setup: installing Debian packages"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${DEB_PACKAGES[@]}" >/dev/null
# The packaged services are not used: the harness launches private instances.
for svc in mariadb postgresql redis-server rabbitmq-server epmd docker containerd; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
done

echo "setup: service user trove-verify"
if ! id trove-verify >/dev/null 2>&1; then
    $SUDO useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin trove-verify
fi

echo "setup: virtualenv $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -r requirements.txt -r test-requirements.txt
"$VENV/bin/pip" install -q -e .

for hook in tools/setup.d/*.sh; do
    [ -e "$hook" ] || continue
    echo "setup: $(basename "$hook" .sh)"
    VENV="$VENV" SUDO="$SUDO" bash "$hook"
done

echo "setup: done. Activate with: source $VENV/bin/activate"
