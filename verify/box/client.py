"""What a backend or the run command needs to know about a box that is up:
its clouds.yaml, its provenance, its logs, and whether `run DS` should use it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from verify.box.paths import CLOUD, BoxPaths

SERVICE_LOGS = ("trove-api.log", "trove-taskmanager.log", "trove-conductor.log")


def running(cloud: str | None = None) -> dict | None:
    """The status of the box that is up when `cloud` names it, else None."""
    if cloud is not None and cloud != CLOUD:
        return None
    from verify.box.manage import status
    data = status()
    if data.get("state") != "up":
        return None
    register_secrets()
    return data


SECRET_KEYS = ("password", "transport_url", "connection", "taskmanager_rpc_encr_key",
               "inst_rpc_key_encr_key")


def register_secrets(paths: BoxPaths | None = None) -> None:
    """Every secret in the box's configs is redacted from what this process
    prints or records (passwords, the RPC keys, RabbitMQ and database URLs)."""
    import configparser
    from urllib.parse import unquote, urlsplit

    from verify import redact
    paths = paths or BoxPaths.default()
    for conf_path in (paths.run / "trove" / "trove.conf", paths.clouds_yaml,
                      paths.run / "swift" / "proxy-server.conf"):
        try:
            text = conf_path.read_text()
        except OSError:
            continue
        if conf_path.suffix == ".yaml":
            import yaml
            for cloud in (yaml.safe_load(text) or {}).get("clouds", {}).values():
                if (cloud.get("auth") or {}).get("password"):
                    redact.register(str(cloud["auth"]["password"]))
            continue
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text)
        for section in [parser.defaults(), *(parser[s] for s in parser.sections())]:
            for key in SECRET_KEYS:
                value = section.get(key)
                if not value:
                    continue
                if "://" in value:
                    password = urlsplit(value).password
                    if password:
                        redact.register(unquote(password))
                        redact.register(password)
                else:
                    redact.register(value)


def use_clouds_yaml(cloud: str | None) -> None:
    """Point openstacksdk at the box's clouds.yaml for cloud `trove-box`
    (unless the user named a clouds.yaml of their own)."""
    if cloud != CLOUD or os.environ.get("OS_CLIENT_CONFIG_FILE"):
        return
    path = BoxPaths.default().clouds_yaml
    if path.exists():
        os.environ["OS_CLIENT_CONFIG_FILE"] = str(path)


def provenance(status: dict) -> dict:
    """run.json's provenance additions for a run through the box."""
    return {"deployment": "box", "trove": status.get("trove"),
            "guest_image": {k: status["guest_image"][k] for k in ("name", "sha256")}}


def container_image(status: dict, datastore: str, version: str) -> dict | None:
    """{name, sha256} of the datastore container image a guest of this
    version loads (built now if the cache lacks it, as the boot would)."""
    info = (status.get("datastores") or {}).get(datastore)
    if not info:
        return None
    from verify.box.guest import archive_for
    archive = archive_for(f"{info['docker_image']}:{version}", say=lambda _line: None)
    return {"name": archive.name, "sha256": archive.sha256}


def instance_logs(status: dict, instance_id: str) -> list[Path]:
    """The guest agent's (and the guest's other) logs for a Trove instance,
    from the index the daemon writes when a guest boots."""
    index = Path(status["logs"]) / "instances" / f"{instance_id}.json"
    try:
        data = json.loads(index.read_text())
    except (OSError, ValueError):
        return []
    # the index is written at boot, before the agent has written its log:
    # read the guest's log directories as they are now
    dirs = sorted({Path(p).parent for p in data.get("logs", [])})
    return sorted(f for d in dirs if d.is_dir() for f in d.iterdir() if f.is_file())


def service_logs(status: dict) -> list[Path]:
    logs = Path(status["logs"])
    return [logs / name for name in SERVICE_LOGS if (logs / name).is_file()]


def default_backend(datastore: str) -> tuple[str, str]:
    """("trove", why) when the box can run `datastore` here, else ("local", why)."""
    from verify.box.manage import cannot_host
    from verify.box.trove_install import TroveInstall, default_venv, guest_managers

    trove_src = os.environ.get("TROVE_VERIFY_TROVE_SRC")
    pkg = Path(trove_src) / "trove" if trove_src else None
    if pkg is None:
        try:
            pkg = TroveInstall(venv=default_venv(), version="").package_dir()
        except Exception:
            return "local", f"no Trove to run ({default_venv()} has no trove package)"
    managers = guest_managers(pkg)
    if datastore not in managers:
        known = ", ".join(sorted(managers)) or "none"
        return "local", (f"the Trove under test has no guest-agent manager for {datastore} "
                         f"(it has: {known}); local evidence is engine evidence")
    reason = cannot_host()
    if reason:
        return "local", f"this machine cannot host the box: {reason}"
    return "trove", f"Trove has a {datastore} guest-agent manager and this machine hosts the box"
