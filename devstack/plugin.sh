#!/usr/bin/env bash
# trove-verify devstack plugin: installs the harness (and its tempest plugin)
# beside Trove, registers the datastore versions Trove's own plugin does not,
# and writes [trove_verify] into tempest.conf.
#
# enable_plugin trove <git url of trove>
# enable_plugin trove-verify <git url of trove-verify> [branch]
# (see devstack/local.conf.sample)
# shellcheck disable=SC2153  # devstack sources settings first: it assigns TROVE_VERIFY_*

function install_trove_verify {
    echo_summary "Installing trove-verify"
    # devstack's venv, under the requirements project's constraints
    setup_develop "$TROVE_VERIFY_DIR"
}

function install_trove_verify_tempest_plugin {
    # the tempest plugin in tempest's own venv, where `tempest run` finds it
    if is_service_enabled tempest && [[ -d "$TEMPEST_DIR/.tox/tempest" ]]; then
        echo_summary "Installing the trove-verify tempest plugin for tempest"
        PIP_VIRTUAL_ENV="$TEMPEST_DIR/.tox/tempest" setup_develop "$TROVE_VERIFY_DIR"
    fi
}

function register_trove_verify_versions {
    # only the versions Trove's plugin does not register itself
    local pair datastore version rules
    for pair in $TROVE_VERIFY_EXTRA_VERSIONS; do
        if [[ ! "$pair" =~ ^[a-z0-9]+:[0-9A-Za-z.-]+$ ]]; then
            die $LINENO "TROVE_VERIFY_EXTRA_VERSIONS: '$pair' is not DATASTORE:VERSION"
        fi
        datastore=${pair%%:*}
        version=${pair#*:}
        if [[ "$datastore" == "$TROVE_DATASTORE_TYPE" && "$version" == "$TROVE_DATASTORE_VERSION" ]]; then
            echo_summary "trove-verify: $pair is Trove's own default version: left to Trove"
            continue
        fi
        echo_summary "trove-verify: registering $datastore $version"
        # Trove's validation rules for the datastore's configuration groups
        rules=$DEST/trove/trove/templates/$datastore/validation-rules.json
        if [[ -f "$rules" ]]; then
            trove-verify register "$datastore" --version "$version" \
                --image-tags "$TROVE_VERIFY_IMAGE_TAGS" \
                --trove-conf "$TROVE_VERIFY_TROVE_CONF" --config-rules "$rules" \
                --log "$LOGDIR/trove-verify-register-$datastore-$version.log"
        else
            trove-verify register "$datastore" --version "$version" \
                --image-tags "$TROVE_VERIFY_IMAGE_TAGS" \
                --trove-conf "$TROVE_VERIFY_TROVE_CONF" \
                --log "$LOGDIR/trove-verify-register-$datastore-$version.log"
        fi
    done
}

function configure_trove_verify_tempest {
    if ! is_service_enabled tempest; then
        return
    fi
    iniset "$TEMPEST_CONFIG" trove_verify datastores "$TROVE_VERIFY_DATASTORES"
    iniset "$TEMPEST_CONFIG" trove_verify backend trove
    iniset "$TEMPEST_CONFIG" trove_verify cloud "$TROVE_VERIFY_CLOUD"
    iniset "$TEMPEST_CONFIG" trove_verify results_dir "$TROVE_VERIFY_DATA_DIR/results"
    if [[ -n "$TROVE_VERIFY_TIER" ]]; then
        iniset "$TEMPEST_CONFIG" trove_verify tier "$TROVE_VERIFY_TIER"
    fi
}

function cleanup_trove_verify {
    # what a killed run left (instances, work dirs), then the plugin's data
    if [[ -d "$TROVE_VERIFY_DATA_DIR" ]]; then
        (
            export TROVE_VERIFY_WORKDIR="$TROVE_VERIFY_DATA_DIR/work"
            export TROVE_VERIFY_RESULTS="$TROVE_VERIFY_DATA_DIR/results"
            trove-verify cleanup
        )
    fi
}

if is_service_enabled trove-verify; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_trove_verify
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        # Trove's services are up and tempest is installed and configured by now
        sudo install -d -o "$STACK_USER" "$TROVE_VERIFY_DATA_DIR"
        register_trove_verify_versions
        install_trove_verify_tempest_plugin
        configure_trove_verify_tempest
    fi
    if [[ "$1" == "unstack" ]]; then
        cleanup_trove_verify
    fi
    if [[ "$1" == "clean" ]]; then
        cleanup_trove_verify
        sudo rm -rf "$TROVE_VERIFY_DATA_DIR"
    fi
fi
