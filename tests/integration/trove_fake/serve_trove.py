"""Serve the real Trove API and task manager in one process, on 127.0.0.1,
with Trove's own fake compute/volume/network/guest clients (run with the
Trove virtualenv's python).

usage: serve_trove.py --config-file trove.conf

Like Trove's `trove-fake-mode`, API and task manager share a process (the
`fake:/` RPC transport is in-process), but the API binds 127.0.0.1 instead
of the 0.0.0.0 that trove-fake-mode hard-codes.
"""

from trove.cmd.common import with_initialize


@with_initialize
def main(conf):
    from trove.cmd.fakemode import start_fake_taskmanager
    from trove.common import cfg, notification, wsgi
    from trove.instance import models as inst_models

    # as trove-api and trove-taskmanager do: error notifications become the
    # instance faults the API shows
    notification.DBaaSAPINotification.register_notify_callback(
        inst_models.persist_instance_fault)
    cfg.set_api_config_defaults()
    paste = conf.find_file(conf.api_paste_config)
    launcher = wsgi.launch("trove", conf.bind_port, paste, host="127.0.0.1", workers=1)
    start_fake_taskmanager(conf)
    launcher.wait()


if __name__ == "__main__":
    main()
