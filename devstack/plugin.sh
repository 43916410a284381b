#!/usr/bin/env bash
# trove-verify devstack plugin: install the harness next to Trove and, after
# stack, register each of TROVE_DATASTORES as a datastore version.
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

function register_trove_verify_datastores {
    # Trove runs each datastore as a container inside its one guest-agent
    # image, which Trove's own devstack plugin builds or downloads and tags
    # "trove"; a datastore version only names the tags that select it.
    local pair datastore version
    for pair in $TROVE_DATASTORES; do
        datastore=${pair%%:*}
        version=${pair#*:}
        echo_summary "trove-verify: registering $datastore $version"
        trove-verify register "$datastore" --version "$version" \
            --image-tags "$TROVE_VERIFY_IMAGE_TAGS" \
            --trove-conf "$TROVE_VERIFY_TROVE_CONF" \
            --log "$LOGDIR/trove-verify-register-$datastore-$version.log"
    done
}

if is_service_enabled trove-verify; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        install_trove_verify
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        # Trove's services are up and registered by now.
        if [[ "$TROVE_VERIFY_REGISTER" == "True" ]]; then
            register_trove_verify_datastores
        fi
    fi
    if [[ "$1" == "unstack" ]]; then
        :
    fi
fi
