#!/usr/bin/env bash
# What the gate tests check against, each in its OWN virtualenv under the
# cache (their pins must not meet ours):
#  - Zuul 14.3.0, whose configuration parser validates `trove-verify gate zuul`;
#  - tempest + trove-tempest-plugin 2.8.0 + this checkout's tempest plugin,
#    to prove the two plugins coexist and our tests list with idempotent ids.
set -euo pipefail

cd "$(dirname "$0")/../.."
CACHE=${TROVE_VERIFY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/trove-verify}
PYTHON=${PYTHON:-python3}
ZUUL_VERSION=14.3.0
TROVE_TEMPEST_VERSION=2.8.0
ZUUL_VENV=$CACHE/zuul-venv
TEMPEST_VENV=$CACHE/tempest-venv

installed() {   # venv package version
    "$1/bin/pip" show "$2" 2>/dev/null | grep -qx "Version: $3"
}

[ -x "$ZUUL_VENV/bin/python" ] || "$PYTHON" -m venv "$ZUUL_VENV"
if ! installed "$ZUUL_VENV" zuul "$ZUUL_VERSION"; then
    "$ZUUL_VENV/bin/pip" install -q "zuul==$ZUUL_VERSION"
fi
echo "gate-tools: zuul $ZUUL_VERSION in $ZUUL_VENV"

[ -x "$TEMPEST_VENV/bin/python" ] || "$PYTHON" -m venv "$TEMPEST_VENV"
if ! installed "$TEMPEST_VENV" trove-tempest-plugin "$TROVE_TEMPEST_VERSION"; then
    "$TEMPEST_VENV/bin/pip" install -q tempest "trove-tempest-plugin==$TROVE_TEMPEST_VERSION"
fi
# this checkout, without its dependencies: the plugin needs only tempest and
# the catalog (PyYAML, jsonschema), which tempest already brings
"$TEMPEST_VENV/bin/pip" install -q --no-deps -e .
echo "gate-tools: tempest + trove-tempest-plugin $TROVE_TEMPEST_VERSION + trove-verify in $TEMPEST_VENV"
