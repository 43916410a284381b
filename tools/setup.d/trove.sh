#!/usr/bin/env bash
# The real Trove (API, task manager, conductor) and Keystone that Trove in a
# box (verify/box) runs, in their OWN virtualenv: their dependency pins
# (oslo.*, SQLAlchemy, eventlet) must not meet ours. Pinned releases.
set -euo pipefail

cd "$(dirname "$0")/../.."
TROVE_VENV=${TROVE_VERIFY_TROVE_VENV:-$PWD/.venv-trove}
PYTHON=${PYTHON:-python3}
TROVE_VERSION=26.0.0
KEYSTONE_VERSION=30.0.0
# the box's object store (verify/box/swift.py): backups go there
SWIFT_VERSION=2.38.3

if [ ! -x "$TROVE_VENV/bin/python" ]; then
    "$PYTHON" -m venv "$TROVE_VENV"
fi
if ! "$TROVE_VENV/bin/pip" show trove 2>/dev/null | grep -qx "Version: $TROVE_VERSION" \
   || ! "$TROVE_VENV/bin/pip" show keystone 2>/dev/null | grep -qx "Version: $KEYSTONE_VERSION" \
   || ! "$TROVE_VENV/bin/pip" show swift 2>/dev/null | grep -qx "Version: $SWIFT_VERSION"
then
    "$TROVE_VENV/bin/pip" install -q --upgrade pip
    "$TROVE_VENV/bin/pip" install -q "trove==$TROVE_VERSION" "keystone==$KEYSTONE_VERSION" \
        "swift==$SWIFT_VERSION" PyMySQL
fi
echo "trove: $("$TROVE_VENV/bin/pip" show trove | grep ^Version) in $TROVE_VENV"
