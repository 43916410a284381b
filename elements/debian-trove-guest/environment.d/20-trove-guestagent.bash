# Which Trove guest agent goes into /opt/trove-guestagent.
export TROVE_GUESTAGENT_VERSION=${TROVE_GUESTAGENT_VERSION:-26.0.0}
export TROVE_VERIFY_TROVE_SRC=${TROVE_VERIFY_TROVE_SRC:-}
