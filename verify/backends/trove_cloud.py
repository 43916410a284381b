"""Reaching a Trove deployment: clouds.yaml, auth and catalog through
openstacksdk/keystoneauth, Trove calls through python-troveclient.

No HTTP or token handling of our own: openstacksdk reads clouds.yaml
(`--cloud NAME` or OS_CLOUD), keystoneauth authenticates and finds the
`database` endpoint, troveclient rides on that session.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from verify import redact
from verify.errors import ConfigError

GATE_JOB_VARS = ("TROVE_VERIFY_GATE_JOB", "ZUUL_JOB")


@dataclass
class Cloud:
    name: str
    region: str
    session: object            # keystoneauth1 Session
    trove: object              # troveclient.v1.client.Client
    endpoint: str
    api_version: str


def _register_secrets(config: dict) -> None:
    for key in ("password", "token", "application_credential_secret"):
        value = (config.get("auth") or {}).get(key)
        if value:
            redact.register(str(value))


def open_cloud(name: str | None, region: str | None = None) -> Cloud:
    """Authenticate against the cloud named in clouds.yaml and find Trove.

    Every way this can go wrong is a configuration error with one line.
    """
    import openstack
    from keystoneauth1 import exceptions as ka_exc
    from openstack import exceptions as os_exc
    from troveclient.v1 import client as trove_client

    # keystoneauth/openstacksdk warn on stderr through logging's last resort;
    # the one line this function raises says it all
    for logger in ("keystoneauth", "openstack", "stevedore"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    name = name or os.environ.get("OS_CLOUD")
    if not name:
        raise ConfigError("no cloud named", where="--cloud",
                          fix="pass --cloud NAME (an entry of clouds.yaml) or set OS_CLOUD")
    where = f"clouds.yaml entry {name!r}"
    try:
        conn = openstack.connect(cloud=name, region_name=region)
    except os_exc.ConfigException as exc:
        raise ConfigError(f"cannot use it: {str(exc).splitlines()[0]}", where=where,
                          fix="check OS_CLIENT_CONFIG_FILE, ./clouds.yaml, "
                              "~/.config/openstack/clouds.yaml") from None
    _register_secrets(conn.config.config)
    region = conn.config.region_name or region or ""
    try:
        conn.session.get_token()
    except ka_exc.ConnectFailure:
        raise ConfigError(f"identity endpoint {conn.config.config['auth'].get('auth_url')} "
                          "is unreachable", where=where,
                          fix="check auth_url and that Keystone is running") from None
    except ka_exc.Unauthorized:
        raise ConfigError("Keystone refused the credentials", where=where,
                          fix="check username/password/project in clouds.yaml") from None
    except (ka_exc.MissingRequiredOptions, ka_exc.AuthPluginException) as exc:
        raise ConfigError(f"incomplete auth section: {exc}", where=where) from None
    except ka_exc.ClientException as exc:
        raise ConfigError(f"authentication failed: {exc}", where=where) from None
    try:
        endpoint = conn.session.get_endpoint(service_type="database", interface="public",
                                             region_name=region or None)
    except ka_exc.ClientException as exc:
        raise ConfigError(f"cannot read the service catalog: {exc}", where=where) from None
    if not endpoint:
        raise ConfigError(f"the catalog has no `database` (Trove) endpoint in region "
                          f"{region or '(default)'}", where=where,
                          fix="is Trove deployed there? check region_name") from None
    trove = trove_client.Client(session=conn.session, region_name=region or None,
                                service_type="database")
    try:
        trove.datastores.list()
    except ka_exc.ConnectFailure:
        raise ConfigError(f"Trove endpoint {endpoint} is unreachable", where=where,
                          fix="is trove-api running?") from None
    except Exception as exc:  # troveclient raises its own types per status
        raise ConfigError(f"Trove at {endpoint} does not answer: {exc}", where=where) from None
    return Cloud(name=name, region=region, session=conn.session, trove=trove,
                 endpoint=endpoint, api_version=_api_version(endpoint))


def _api_version(endpoint: str) -> str:
    # Trove's endpoint is http://host:8779/v1.0/<project>; the version is in it.
    for part in endpoint.split("/"):
        if part.startswith("v") and part[1:].replace(".", "").isdigit():
            return part[1:]
    return "unknown"


def provenance(cloud: Cloud, kind: str = "trove", environ: dict | None = None) -> dict:
    """Where evidence from this backend came from (the classifier reads kind)."""
    environ = os.environ if environ is None else environ
    job = next((environ[v] for v in GATE_JOB_VARS if environ.get(v)), None)
    voting = None
    if job:
        raw = environ.get("TROVE_VERIFY_GATE_VOTING", environ.get("ZUUL_VOTING", ""))
        voting = raw.lower() in ("1", "true", "yes")
    return {"kind": kind, "job": job, "voting": voting, "cloud": cloud.name,
            "region": cloud.region, "trove_api_version": cloud.api_version,
            "endpoint": cloud.endpoint, "datastore_versions": {}}
