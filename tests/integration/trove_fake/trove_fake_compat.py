"""Small shims where Trove 26's own fakes (trove/tests/fakes) lag Trove 26.

Imported by Trove (run in the Trove virtualenv) through trove.conf's
remote_*_client options; each shim is listed in README.md here.
"""

import functools
import inspect

from novaclient import api_versions
from trove.tests.fakes import nova


def _client_data(context):
    """Trove's fakes keep servers and volumes per *context object*
    (CLIENT_DATA[context]), and every API request and RPC call has a new
    context, so a server created in one request is gone in the next. Keep
    one fake nova/cinder per project instead, as a real cloud does."""
    key = getattr(context, "project_id", None)
    if key not in nova.CLIENT_DATA:
        nova.CLIENT_DATA[key] = nova.get_client_data(context)
        nova.CLIENT_DATA.pop(context, None)
    return nova.CLIENT_DATA[key]


def fake_create_cinder_client(context, region_name=None, **_):
    return _client_data(context)["volume"]


def fake_create_nova_client(context, region_name=None, **_):
    client = _client_data(context)["nova"]
    # `trove-manage db_sync` reads nova_client.api_version (server tags need
    # 2.26); the fake FakeClient has no such attribute.
    if not hasattr(client, "api_version"):
        client.api_version = api_versions.APIVersion("2.96")
    _tolerate_newer_arguments(nova.FakeServers)
    _tolerate_newer_arguments(nova.FakeVolumes)
    return client


class _Images:
    """Trove 26 checks the version's image in Glance; Trove ships no glance fake."""

    IMAGE = {"id": "00000000-0000-4000-8000-00000000cafe", "status": "active",
             "checksum": "0" * 32, "tags": ["trove", "fake"]}

    def get(self, image_id):
        if image_id != self.IMAGE["id"]:
            from glanceclient import exc
            raise exc.HTTPNotFound(image_id)
        return dict(self.IMAGE)

    def list(self, filters=None, **_):
        tags = set((filters or {}).get("tag") or [])
        return [dict(self.IMAGE)] if tags <= set(self.IMAGE["tags"]) else []


class _Glance:
    images = _Images()


def fake_create_glance_client(context, region_name=None, **_):
    return _Glance()


def _unquote_user_host(user_hostname):
    """Trove's old trove.tests.util.unquote_user_host, gone from Trove 26
    while trove/tests/fakes/guestagent.py still imports it."""
    from urllib.parse import unquote
    unquoted = unquote(user_hostname)
    if "@" not in unquoted or unquoted.endswith("@"):
        return unquoted, "%"
    user, _, host = unquoted.rpartition("@")
    return user, host


def fake_create_guest_client(context, id, manager=None):
    import trove.tests.util as util
    if not hasattr(util, "unquote_user_host"):
        util.unquote_user_host = _unquote_user_host
    from trove.tests.fakes import guestagent
    _tolerate_newer_arguments(guestagent.FakeGuest)
    return guestagent.fake_create_guest_client(context, id, manager)


def _tolerate_newer_arguments(cls) -> None:
    """Trove 26 passes keyword arguments the fakes' methods predate
    (FakeGuest.prepare(ds_version=...), FakeServers.create(tags=..., meta=...),
    FakeServers.list(search_opts=...)): drop the ones a method does not take."""
    if getattr(cls, "_compat", False):
        return
    for name, fn in list(vars(cls).items()):
        if name.startswith("__") or not inspect.isfunction(fn):
            continue
        params = inspect.signature(fn).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in params):
            continue
        accepted = {p.name for p in params}

        def tolerant(*args, _fn=fn, _accepted=accepted, **kwargs):
            return _fn(*args, **{k: v for k, v in kwargs.items() if k in _accepted})
        setattr(cls, name, functools.wraps(fn)(tolerant))
    cls._compat = True


class _NativeTimers:
    """The fakes simulate progress with eventlet.spawn_after. Trove 26's
    task manager runs RPC calls in native threads, where no eventlet hub
    ever runs those timers (a fake guest's prepare never reports HEALTHY);
    native timer threads run them wherever they are scheduled from."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    @staticmethod
    def spawn_after(delay, fn, *args, **kwargs):
        import threading
        timer = threading.Timer(delay, fn, args, kwargs)
        timer.daemon = True
        timer.start()
        return timer


def _use_native_timers() -> None:
    import trove.tests.util as util
    if not hasattr(util, "unquote_user_host"):
        util.unquote_user_host = _unquote_user_host
    from trove.tests.fakes import guestagent
    for module in (nova, guestagent):
        if not isinstance(module.eventlet, _NativeTimers):
            module.eventlet = _NativeTimers(module.eventlet)


def _report_nova_statuses() -> None:
    """The fake server says HEALTHY where nova says ACTIVE (a guest status
    leaked into the compute fake); Trove 26 shows an instance whose server
    is not ACTIVE as UNKNOWN and will not delete it cleanly."""
    prop = nova.FakeServer.status
    if getattr(prop, "_compat", False):
        return

    def status(self):
        value = prop.fget(self)
        return "ACTIVE" if value == "HEALTHY" else value
    status._compat = True
    nova.FakeServer.status = property(status)


_use_native_timers()
_report_nova_statuses()
