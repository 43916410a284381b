#!/usr/bin/env bash
# What diskimage-builder and namespace guests need on a fresh Debian machine.
# DIB itself comes from requirements (PyPI diskimage-builder); it calls sudo
# even as root, and debootstraps the guest's Debian release.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
${SUDO:-} apt-get install -y -qq --no-install-recommends \
    sudo debootstrap debian-archive-keyring gnupg squashfs-tools qemu-utils kpartx \
    e2fsprogs util-linux iproute2 tar xz-utils zstd curl >/dev/null
# diskimage-builder must be importable from the venv (requirements.txt has it)
if ! "${VENV:?}/bin/python" -c 'import diskimage_builder' 2>/dev/null; then
    "$VENV/bin/pip" install -q diskimage-builder
fi
