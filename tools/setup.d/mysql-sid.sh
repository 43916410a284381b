#!/usr/bin/env bash
# The Debian sid root filesystem the MySQL 9.7 engine tests run in: built
# once with debootstrap into the cache directory, then reused (CI on the same
# machine hits the cache; a rebuild takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/../.."
${SUDO:-} bash tools/build-sid-mysql-rootfs.sh
