"""Trove's own guest API (trove.guestagent.api.API), driven from the control
plane's side as the task manager drives it. Run by the Trove virtualenv's
Python; reads one JSON request on stdin, prints one JSON answer.

Trove's database is not here: the instance's RPC encryption key, which the
task manager would read from it, comes in the request (and went into the
guest's guest_info.conf), so RPC is encrypted exactly as Trove encrypts it.
"""

import json
import sys
import tempfile
import time
import types


def main() -> int:
    req = json.load(sys.stdin)
    from trove.common import cfg
    from trove.common import context as trove_context

    conf = cfg.CONF
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf_file:
        # as trove.conf names it (the option exists once oslo.messaging loads)
        conf_file.write(f"[DEFAULT]\ntransport_url = {req['transport_url']}\n"
                        "control_exchange = trove\n")
        conf_file.flush()
        conf(["--config-file", conf_file.name], project="trove", default_config_files=[])
    from trove import rpc
    from trove.instance import models

    models.get_instance_encryption_key = lambda _id: req["key"]
    models.DBInstance.get_by = classmethod(lambda cls, **_: types.SimpleNamespace(
        key=req["key"]))
    rpc.init(conf)
    from trove.common import notification
    from trove.guestagent import api

    ctx = trove_context.TroveContext(project_id=req["tenant_id"], user_id="trove-verify")
    # what trove-api attaches to an instance create; the agent's prepare ends it
    ctx.notification = notification.DBaaSInstanceCreate(
        ctx, request=types.SimpleNamespace(remote_addr="127.0.0.1", host="127.0.0.1"))
    guest = api.API(ctx, req["guest_id"])
    started = time.monotonic()
    out: dict = {}
    if req["action"] == "ping":
        deadline = started + req.get("timeout", 120)
        while True:
            try:
                out["ping"] = guest.rpc_ping()
                break
            except Exception as exc:  # the agent's queue is not there yet
                if time.monotonic() > deadline:
                    out["error"] = f"{type(exc).__name__}: {exc}"
                    break
                time.sleep(1)
    elif req["action"] == "prepare":
        from trove.common import template

        # the configuration the task manager renders from Trove's own template
        version = types.SimpleNamespace(datastore_name=req["datastore"],
                                        manager=req["datastore"], name=req["ds_version"],
                                        version=req["ds_version"])
        config = template.SingleInstanceConfigTemplate(
            version, {"ram": req["memory_mb"]}, req["guest_id"]).render()
        guest.prepare(req["memory_mb"], None, req["databases"], req["users"],
                      device_path=req["device_path"], mount_point=req["mount_point"],
                      config_contents=config, root_password=None,
                      ds_version=req["ds_version"])
        out["prepare"] = "cast"
    elif req["action"] == "status":
        out["volume"] = guest.get_volume_info()
        out["databases"] = guest.list_databases()[0]
    out["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
