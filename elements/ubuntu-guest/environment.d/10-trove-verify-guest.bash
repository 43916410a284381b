# The service user every engine runs as inside the guest (never root).
export TROVE_VERIFY_SERVICE_USER=${TROVE_VERIFY_SERVICE_USER:-trove-verify}
