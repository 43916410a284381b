#!/usr/bin/env bash
# trove-verify devstack plugin: install the harness next to Trove and, after
# stack, build and register a guest image for each of TROVE_DATASTORES.
#
# enable_plugin trove-verify <git url of trove-verify> [branch]
# (after enable_plugin trove; see devstack/local.conf.sample)

function install_trove_verify {
    echo_summary "Installing trove-verify"
    if [[ ! -x "$TROVE_VERIFY_VENV/bin/python" ]]; then
        python3 -m venv "$TROVE_VERIFY_VENV"
    fi
    "$TROVE_VERIFY_VENV/bin/pip" install -q --upgrade pip
    "$TROVE_VERIFY_VENV/bin/pip" install -q -r "$TROVE_VERIFY_DIR/requirements.txt"
    "$TROVE_VERIFY_VENV/bin/pip" install -q -e "$TROVE_VERIFY_DIR"
    sudo ln -sf "$TROVE_VERIFY_VENV/bin/trove-verify" /usr/local/bin/trove-verify
}

function build_and_register_trove_verify_images {
    local pair datastore version image
    mkdir -p "$TROVE_VERIFY_IMAGE_DIR"
    for pair in $TROVE_DATASTORES; do
        datastore=${pair%%:*}
        version=${pair#*:}
        image="$TROVE_VERIFY_IMAGE_DIR/trove-$datastore-$version.qcow2"
        echo_summary "trove-verify: guest image for $datastore $version"
        if [[ ! -f "$image" ]]; then
            trove-verify image build "$datastore" --version "$version" --output "$image"
        fi
        OS_CLOUD=$TROVE_VERIFY_CLOUD trove-verify deploy image "$datastore" \
            --version "$version" --image "$image" --register \
            --trove-conf "$TROVE_VERIFY_TROVE_CONF" \
            --log "$LOGDIR/trove-verify-deploy-$datastore-$version.log"
    done
}

if is_service_enabled trove-verify; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_trove_verify
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        # Trove's services are up and registered by now.
        if [[ "$TROVE_VERIFY_BUILD_IMAGES" == "True" ]]; then
            build_and_register_trove_verify_images
        fi
    fi
    if [[ "$1" == "unstack" ]]; then
        :
    fi
    if [[ "$1" == "clean" ]]; then
        rm -rf "$TROVE_VERIFY_IMAGE_DIR"
    fi
fi
