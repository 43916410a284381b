"""The trove backend's user, configuration, readout and upgrade verbs against a
recording stand-in for troveclient (no cloud), and the readouts' parsing of
Trove's own config templates (the Trove 26 package in .venv-trove)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from verify import catalog as catalogs
from verify.backends.base import FLAVORS, Instance
from verify.backends.trove import TroveBackend
from verify.backends.trove_answers import agent_error, agent_refusal
from verify.backends.trove_readouts import size_mb, template_setting_mb
from verify.box.trove_install import TroveInstall, default_venv
from verify.errors import EngineError, NotSupported
from verify.settings import Timeouts


class Recorder:
    """Any attribute path is callable; each call is recorded, and answers
    come from `answers` by dotted name."""

    def __init__(self, calls: list, answers: dict, prefix: str = ""):
        self._calls, self._answers, self._prefix = calls, answers, prefix

    def __getattr__(self, name: str) -> Recorder:
        return Recorder(self._calls, self._answers, f"{self._prefix}{name}.")

    def __call__(self, *args, **kwargs):
        name = self._prefix.rstrip(".")
        self._calls.append((name, args, kwargs))
        answer = self._answers.get(name)
        return answer(*args, **kwargs) if callable(answer) else answer


def backend(answers: dict | None = None, box: dict | None = None) -> tuple[TroveBackend, list]:
    calls: list = []
    b = object.__new__(TroveBackend)
    b.trove = Recorder(calls, answers or {})
    b.catalog = catalogs.default()
    b.timeouts = Timeouts.from_env()
    b.poll_interval = 0.05
    b.box = box
    b.provenance = {"trove": {"version": "26.0.0"}}
    b._lock, b._live = threading.Lock(), {}
    return b, calls


def instance(**kw) -> Instance:
    return Instance(id="i-1", name="n", datastore=kw.get("datastore", "mariadb"),
                    version=kw.get("version", "10.11"), flavor=FLAVORS["small"], volume_gb=1)


def test_user_verbs_go_through_troveclient():
    b, calls = backend({"users.list_access": lambda *a: [SimpleNamespace(name="db_b"),
                                                         SimpleNamespace(name="db_a")]})
    inst = instance()
    # the change is a cast: it is done once the new password logs in, which
    # here happens on the second try
    logins: list = []

    def connect(instance, creds, database=None):
        logins.append(creds)
        if len(logins) == 1:
            raise RuntimeError("password authentication failed")
        return contextlib.nullcontext()
    b.connect = connect
    b.change_password(inst, "u1", "s3cret-pw")
    assert [(c.user, c.password) for c in logins] == [("u1", "s3cret-pw")] * 2
    b.grant_access(inst, "u1", ["db_a", "db_b"])
    b.revoke_access(inst, "u1", "db_a")
    assert b.list_access(inst, "u1") == ["db_a", "db_b"]
    assert calls == [
        ("users.change_passwords", ("i-1", [{"name": "u1", "password": "s3cret-pw"}]), {}),
        ("users.grant", ("i-1", "u1", ["db_a", "db_b"]), {}),
        ("users.revoke", ("i-1", "u1", "db_a"), {}),
        ("users.list_access", ("i-1", "u1"), {})]


def test_a_refused_user_verb_is_not_implemented_by_trove():
    from troveclient import exceptions as tc_exc

    def refuse(*_a):
        raise tc_exc.BadRequest(message="User access is not supported for this datastore",
                                http_status=400)
    b, _ = backend({"users.grant": refuse})
    with pytest.raises(NotSupported, match="not implemented by Trove 26.0.0: grant u1"):
        b.grant_access(instance(), "u1", ["db"])


def test_configuration_rules_are_troves_with_the_engines_safe_examples():
    params = [SimpleNamespace(name="max_connections", type="integer", restart_required=False,
                              min=1, max=100000),
              SimpleNamespace(name="wait_timeout", type="integer", restart_required=False,
                              min=1, max=1000),        # our example 1234 breaks this bound
              SimpleNamespace(name="innodb_open_files", type="integer", restart_required=True,
                              min=10, max=4294967295),
              SimpleNamespace(name="trove_only", type="string", restart_required=False)]
    b, _ = backend({"configuration_parameters.parameters": lambda *a: params})
    rules = b.list_configuration_parameters("mariadb", "10.11")
    assert rules["max_connections"].example == 77 and rules["max_connections"].dynamic
    assert rules["wait_timeout"].example is None
    assert rules["innodb_open_files"].example == 555
    assert not rules["innodb_open_files"].dynamic
    assert rules["trove_only"].example is None and rules["trove_only"].min is None


def test_size_mb_reads_template_and_server_units():
    assert size_mb("150M") == 150
    assert size_mb("51MB") == 51
    assert size_mb("1G") == 1024
    assert size_mb("157286400") == 150
    with pytest.raises(Exception, match="not a memory size"):
        size_mb("lots")


def _trove_package() -> Path:
    try:
        return TroveInstall(venv=default_venv(), version="").package_dir()
    except Exception:
        pytest.skip(f"no Trove package in {default_venv()} (tools/setup.d/trove.sh builds it)")


def test_memory_expected_is_what_troves_own_template_gives():
    pkg = _trove_package()
    # trove/templates/mariadb/config.template: innodb_buffer_pool_size = 150 * ram / 512 M
    assert template_setting_mb(pkg, "mariadb", "10.11", "innodb_buffer_pool_size", 512) == 150
    assert template_setting_mb(pkg, "mariadb", "11.8", "innodb_buffer_pool_size", 2048) == 600
    assert template_setting_mb(pkg, "mysql", "8.4", "innodb_buffer_pool_size", 1024) == 300
    # postgresql: 10 % of RAM below 3 GB, 25 % from 3 GB
    assert template_setting_mb(pkg, "postgresql", "17", "shared_buffers", 512) == 51
    assert template_setting_mb(pkg, "postgresql", "17", "shared_buffers", 4096) == 1024
    with pytest.raises(NotSupported, match="does not set"):
        template_setting_mb(pkg, "mariadb", "10.11", "verify_no_such_setting", 512)


def test_readouts_log_in_as_troves_root_once(monkeypatch):
    b, calls = backend({"root.create_instance_root": lambda *a: ("root", "pw-1")})
    seen = []

    class Client:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def query(self, sql, args=None):
            seen.append(sql)
            return [("77",)]
    monkeypatch.setattr(b, "connect", lambda inst, creds, db=None: Client())
    inst = instance()
    assert b.read_setting(inst, "max_connections") == "77"
    assert b.read_setting(inst, "wait_timeout") == "77"
    assert [c[0] for c in calls] == ["root.create_instance_root"]   # enabled once
    assert "SELECT @@GLOBAL.max_connections" in seen
    b.disable_root(inst)
    assert "root" not in inst.extra
    with pytest.raises(Exception, match="not a server setting name"):
        b.read_setting(inst, "x; DROP TABLE t")
    with pytest.raises(NotSupported, match="only the MySQL family and PostgreSQL"):
        b.boot_id(instance(datastore="redis"))


def test_agent_refusal_reads_only_what_was_logged_after_the_mark(tmp_path):
    log = tmp_path / "trove-guestagent.log"
    log.write_text("ERROR old: Major version upgrade is not allowed: 10.6 -> 11.4\n")
    mark = log.stat().st_size
    assert agent_refusal(log, mark, "upgrade") is None
    with log.open("a") as fh:
        fh.write("INFO Starting to upgrade database\n"
                 "ERROR trove.common.exception.TroveError: Major version upgrade is not "
                 "allowed: 10.11 -> 11.8\n")
    assert agent_refusal(log, mark, "upgrade").endswith(
        "Major version upgrade is not allowed: 10.11 -> 11.8")
    assert agent_refusal(tmp_path / "missing.log", 0, "upgrade") is None


def _rpc_error(*payload: str) -> str:
    # oslo.log's shape for an RPC method that raised in the guest agent
    return "".join(f"2026-11-30 13:17:52.768 152 ERROR oslo_messaging.rpc.server {line}\n"
                   for line in payload)


RPC_FAILURE = _rpc_error(
    "Traceback (most recent call last):",
    '  File "/opt/trove-guestagent/.../postgres/service.py", line 730, in _drop_user',
    "    self.psql(query.UserQuery.drop(name=user.name))",
    'psycopg2.errors.DependentObjectsStillExist: role "u1" cannot be dropped because '
    "some objects depend on it",
    "DETAIL:  1 object in database db1", "")


def test_agent_error_quotes_the_first_failed_rpc_after_the_mark(tmp_path):
    log = tmp_path / "trove-guestagent.log"
    log.write_text(_rpc_error("Traceback (most recent call last):", "OldError: before"))
    mark = log.stat().st_size
    assert agent_error(log, mark) is None
    with log.open("a") as fh:
        fh.write("2026-11-30 13:17:52.700 152 INFO trove...service [-] Dropping user u1\n"
                 + RPC_FAILURE)
    assert agent_error(log, mark) == (
        'psycopg2.errors.DependentObjectsStillExist: role "u1" cannot be dropped because '
        "some objects depend on it (DETAIL:  1 object in database db1)")
    assert agent_error(tmp_path / "missing.log", 0) is None


def test_a_cast_the_guest_agent_fails_ends_the_wait_with_its_words(tmp_path):
    """Trove answers 202 and its guest agent fails the delete: the user stays
    listed, and the wait ends at the agent's error instead of its bound."""
    log = tmp_path / "trove-guestagent.log"
    log.write_text("")

    def delete(*_a):
        with log.open("a") as fh:
            fh.write(RPC_FAILURE)
    b, _ = backend({"users.delete": delete,
                    "users.list": lambda *_a: [SimpleNamespace(name="u1")]})
    b.agent_log = lambda _inst: log
    started = time.monotonic()
    with pytest.raises(EngineError, match=r"delete user u1: Trove accepted it \(202\) and its "
                                          r"guest agent failed it: psycopg2.errors.Dependent"):
        b.delete_user(instance(datastore="postgresql"), "u1")
    assert time.monotonic() - started < 5


def test_an_upgrade_the_agent_refuses_ends_at_once_as_troves_refusal(tmp_path, monkeypatch):
    log = tmp_path / "trove-guestagent.log"
    log.write_text("INFO agent started\n")
    record = {"status": "UPGRADE", "id": "i-1"}

    def upgrade(*_a):   # the cast: the agent refuses a moment later
        threading.Timer(0.2, lambda: log.open("a").write(
            "ERROR TroveError: Major version upgrade is not allowed: 10.11 -> 11.8\n")).start()
    b, _ = backend({"instances.upgrade": upgrade,
                    "instances.get": lambda *a: SimpleNamespace(_info=record)})
    monkeypatch.setattr(b, "agent_log", lambda inst: log)
    inst = instance()
    started = time.monotonic()
    with pytest.raises(NotSupported) as err:
        b.upgrade_instance(inst, "11.8")
    assert time.monotonic() - started < 10      # not the 1,200 s action timeout
    text = str(err.value)
    assert text.startswith("not implemented by Trove 26.0.0: upgrade mariadb 10.11 -> 11.8")
    assert "Major version upgrade is not allowed" in text and str(log) in text
    assert inst.version == "10.11"


def test_a_configuration_that_needs_a_restart_is_restarted_through_trove():
    states = iter(["RESTART_REQUIRED", "REBOOT", "ACTIVE"])
    record = {"id": "i-1", "status": "ACTIVE"}

    def get(*_a):
        record["status"] = next(states, "ACTIVE")
        return SimpleNamespace(_info=dict(record))
    b, calls = backend({"instances.get": get})
    inst = instance()
    b.attach_configuration(inst, SimpleNamespace(id="cfg-1"))
    assert [c[0] for c in calls if not c[0].endswith("get")] == \
        ["instances.update", "instances.restart"]
    assert inst.extra["restarts_required"] == ["configuration attach"]
    # dynamic values only: ACTIVE at once, no restart
    states = iter(["ACTIVE"])
    calls.clear()
    b.detach_configuration(inst)
    assert [c[0] for c in calls if not c[0].endswith("get")] == ["instances.update"]


def test_a_live_source_trove_will_not_eject_is_a_skip_with_troves_answer():
    from troveclient import exceptions as tc_exc

    def refuse(*_a):
        raise tc_exc.BadRequest(message="Replica Source i-1 cannot be ejected as it has a "
                                        "current heartbeat", http_status=400)
    b, _ = backend({"instances.get": lambda *_a: SimpleNamespace(_info={"replicas": []}),
                    "instances.eject_replica_source": refuse})
    with pytest.raises(NotSupported, match="ejects only a replica source whose guest has "
                                           "stopped reporting.*current heartbeat"):
        b.eject_replica_source(instance())


def test_a_source_with_replicas_is_deleted_after_they_are_detached():
    from troveclient import exceptions as tc_exc

    replicas = [{"id": "r-1"}]
    deletes = []

    def delete(instance_id):
        deletes.append(instance_id)
        if replicas:
            raise tc_exc.Forbidden(message="Detach replicas before deleting replica source.",
                                   http_status=403)

    def update(replica_id, **kw):
        assert kw == {"detach_replica_source": True}
        replicas.clear()

    def get(instance_id):
        if len(deletes) == 2:
            raise tc_exc.NotFound(message="gone", http_status=404)
        return SimpleNamespace(_info={"replicas": list(replicas)})

    b, calls = backend({"instances.delete": delete, "instances.update": update,
                        "instances.get": get})
    inst = instance()
    b.delete_instance(inst)
    assert deletes == ["i-1", "i-1"] and inst.status == "DELETED"
    assert ("instances.update", ("r-1",), {"detach_replica_source": True}) in calls


def test_a_500_carries_the_trove_api_log_line_for_its_error_id(tmp_path):
    from verify.backends.trove_answers import api_log_line
    log = tmp_path / "trove-api.log"
    error_id = "1e7f3a01-17e3-43a7-a9a2-6d66d16d6c54"
    log.write_text(f"2026 DEBUG trove.common.wsgi [req] {error_id}: not this one\n"
                   f"2026 4612 ERROR trove.common.wsgi [req] {error_id}: int() argument "
                   f"must be a string, not 'NoneType': TypeError\n")
    message = ("Internal Server Error. Please keep this ID to help us figure out what "
               f"went wrong: ({error_id}).")
    assert api_log_line(message, log) == ("int() argument must be a string, not "
                                          "'NoneType': TypeError")
    assert api_log_line("Internal Server Error.", log) is None
    assert api_log_line(message, None) is None


def test_a_cluster_trove_fails_without_volumes_skips_saying_so():
    """Trove 26's galera API answers 500 to a cluster create where
    trove_volume_support is off (its quota check counts volumes as None): the
    box's deployment gap, said with Trove's answer, not a pass nor a claim
    that Trove lacks clusters. No volume is asked for where there are none."""
    from troveclient import exceptions as tc_exc

    def crash(*_a, **_kw):
        raise tc_exc.InternalServerError(message="Internal Server Error. (x)", http_status=500)
    b, calls = backend({"clusters.create": crash})
    b.volume_support, b.flavor_for = False, lambda size: "f-small"
    with pytest.raises(NotSupported, match=r"needs volumes: Trove 26\.0\.0 fails a cluster "
                                           r"create .*answered 500"):
        b.create_cluster("mariadb", "10.11", "galera", 3)
    (_name, _args, kwargs), = calls
    assert kwargs["instances"] == [{"flavorRef": "f-small"}] * 3
    b.volume_support = True
    from verify.errors import EngineError
    with pytest.raises(EngineError, match="answered 500") as err:
        b.create_cluster("mariadb", "10.11", "galera", 3)
    assert not isinstance(err.value, NotSupported)
    assert calls[-1][2]["instances"][0]["volume"] == {"size": 1}


def test_a_postgresql_setting_is_read_without_the_harness_session_bound(monkeypatch):
    """The harness's psycopg sessions set statement_timeout for themselves;
    read through one, the server's statement_timeout (what a configuration
    group changed) showed the session's 60000 instead."""
    from verify.backends import trove_readouts
    b, _ = backend({"root.create_instance_root": lambda *a: ("root", "pw-1")})
    opened = []

    class Client:
        def __init__(self, host, port, creds, database=None, timeout=10.0, bounded=True):
            opened.append((host, port, creds.user, bounded))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def query(self, sql, args=None):
            assert args == ("statement_timeout",)
            return [("12345",)]
    monkeypatch.setattr(trove_readouts, "PostgreSQLClient", Client)
    monkeypatch.setattr(b, "address_of", lambda inst: ("10.0.0.7", 5432))
    inst = instance(datastore="postgresql", version="15")
    assert b.read_setting(inst, "statement_timeout") == "12345"
    assert opened == [("10.0.0.7", 5432, "root", False)]


def test_cluster_members_whose_agent_lacks_a_method_are_troves_gap(tmp_path):
    """Trove 26 makes a galera cluster whose members all go ERROR: its task
    manager calls reset_admin_password, which mariadb's agent lacks. That is
    recorded as not implemented by Trove, with the agent's line, and the
    cluster is deleted so nothing is left."""
    log = tmp_path / "trove-guestagent.log"
    log.write_text(_rpc_error(
        "Exception during message handling: oslo_messaging.rpc.dispatcher.NoSuchMethod: "
        "Endpoint does not support RPC method reset_admin_password",
        "Traceback (most recent call last):",
        "oslo_messaging.rpc.dispatcher.NoSuchMethod: Endpoint does not support RPC method "
        "reset_admin_password"))
    members = [{"id": f"m-{i}", "name": f"member-{i}"} for i in range(3)]
    b, calls = backend({
        "clusters.create": lambda *_a, **_kw: SimpleNamespace(id="c-1"),
        "clusters.get": lambda _id: SimpleNamespace(_info={"task": {"name": "NONE"},
                                                          "instances": members}),
        # the member whose agent failed the call may not be among those in ERROR
        "instances.get": lambda id: SimpleNamespace(_info={
            "status": "ACTIVE" if id == "m-2" else "ERROR", "ip": []}),
        "clusters.delete": lambda _id: None})
    b.volume_support, b.flavor_for = True, lambda size: "f-small"
    quiet = tmp_path / "quiet.log"
    quiet.write_text("")
    b.agent_log = lambda inst: log if inst.id == "m-2" else quiet
    b._wait_gone = lambda get, what: None
    with pytest.raises(NotSupported, match=r"not implemented by Trove 26\.0\.0: mariadb galera "
                                           r"cluster: the task manager calls "
                                           r"reset_admin_password"):
        b.create_cluster("mariadb", "10.11", "galera", 3)
    assert ("clusters.delete", ("c-1",), {}) in calls
