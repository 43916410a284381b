# Which Trove guest agent goes into /opt/trove-guestagent: a release
# (TROVE_GUESTAGENT_VERSION) or, when empty, the one wheel of a developer's
# checkout the harness put into TROVE_VERIFY_WHEELHOUSE.
export TROVE_GUESTAGENT_VERSION=${TROVE_GUESTAGENT_VERSION-26.0.0}
export TROVE_VERIFY_WHEELHOUSE=${TROVE_VERIFY_WHEELHOUSE:-}
