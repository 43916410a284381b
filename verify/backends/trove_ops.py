"""Trove verbs beyond instances/databases/users, mixed into TroveBackend:
user access and passwords, root, configuration groups, backups (and restore),
replicas, clusters, resize and upgrade. Each waits with a bound from settings.Timeouts."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from verify import deadline
from verify.backends.base import FLAVORS, Configuration, Instance
from verify.backends.trove_answers import (
    TroveAnswers,
    agent_lacks,
    agent_refusal,
    answer_of,
    refused_to_eject_a_live_source,
)
from verify.engines.base import Credentials, wait_for
from verify.engines.capabilities import Backup, ConfigRule
from verify.errors import EngineError, NotSupported, WaitTimeout

BACKUP_DONE = {"COMPLETED"}
RESTART_REQUIRED = frozenset({"RESTART_REQUIRED"})
BACKUP_FAILED = {"FAILED", "DELETE_FAILED", "ERROR"}
def _within(rule: ConfigRule, value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return True
    return ((rule.min is None or value >= rule.min)
            and (rule.max is None or value <= rule.max))


class TroveOps(TroveAnswers):
    """Needs self.trove (troveclient), self.timeouts, self.wait_ready,
    self._learn_address."""

    # user access ----------------------------------------------------------
    def change_password(self, instance: Instance, user: str, password: str) -> None:
        from verify import redact
        redact.register(password)
        with self._trove_errors(f"change password of user {user}"):
            self.trove.users.change_passwords(instance.id, [{"name": user,
                                                             "password": password}])

        # Trove casts it to the guest agent (a 202 before anything changed):
        # done when the new password logs in
        def logs_in() -> bool:
            with self.connect(instance, Credentials(user, password)):
                return True
        wait_for(logs_in, timeout=self.timeouts.trove_action,
                 what=f"user {user}'s new password, changed through Trove", interval=0.3)

    def grant_access(self, instance: Instance, user: str, databases: list[str]) -> None:
        with self._trove_errors(f"grant {user} access to {', '.join(databases)}"):
            self.trove.users.grant(instance.id, user, databases)

    def revoke_access(self, instance: Instance, user: str, database: str) -> None:
        with self._trove_errors(f"revoke {user}'s access to {database}"):
            self.trove.users.revoke(instance.id, user, database)

    def list_access(self, instance: Instance, user: str) -> list[str]:
        with self._trove_errors(f"list {user}'s access"):
            return sorted(d.name for d in self.trove.users.list_access(instance.id, user))

    # root -----------------------------------------------------------------
    def enable_root(self, instance: Instance) -> Credentials:
        with self._trove_errors("enable root"):
            user, password = self.trove.root.create_instance_root(instance.id)
        from verify import redact
        redact.register(password)
        # the latest root password: the engine readouts log in with it
        instance.extra["root"] = Credentials(user, password)
        return instance.extra["root"]

    def root_enabled(self, instance: Instance) -> bool:
        with self._trove_errors("root status"):
            return bool(self.trove.root.is_instance_root_enabled(instance.id).rootEnabled)

    def disable_root(self, instance: Instance) -> None:
        with self._trove_errors("disable root"):
            self.trove.root.disable_instance_root(instance.id)
        instance.extra.pop("root", None)

    # configuration groups --------------------------------------------------
    def list_configuration_parameters(self, datastore: str,
                                      version: str) -> dict[str, ConfigRule]:
        """Trove's validation rules (the truth about what it accepts), with
        the engine catalog's safe example value where Trove has the same
        parameter and the example keeps to Trove's bounds: Trove's rules name
        no value a scenario could set."""
        with self._trove_errors(f"list {datastore} {version} configuration parameters"):
            params = self.trove.configuration_parameters.parameters(datastore, version)
        try:
            ours = self._engine(datastore).server.CONFIG_RULES
        except EngineError:     # a datastore this harness has no engine for
            ours = {}
        rules = {}
        for p in params:
            rule = ConfigRule(name=p.name, type=p.type,
                              dynamic=not getattr(p, "restart_required", False),
                              min=getattr(p, "min", None), max=getattr(p, "max", None))
            mine = ours.get(p.name)
            if mine is not None and mine.example is not None and mine.type == rule.type \
                    and _within(rule, mine.example):
                rule = dataclasses.replace(rule, example=mine.example)
            rules[p.name] = rule
        return rules

    def create_configuration(self, datastore: str, version: str, values: dict, *,
                             name: str = "verify-config") -> Configuration:
        import json

        from troveclient import exceptions as tc_exc

        from verify.engines.capabilities import ConfigurationRejected
        what = f"create configuration {name}"
        try:
            conf = self.trove.configurations.create(name, json.dumps(values),
                                                    datastore=datastore,
                                                    datastore_version=version)
        except tc_exc.ClientException as exc:
            code = getattr(exc, "http_status", None) or getattr(exc, "code", 0)
            if code in (400, 422):
                # Trove's validation rules at work (an unknown parameter, a
                # value out of range), not a capability Trove lacks
                message = getattr(exc, "message", None) or str(exc)
                raise ConfigurationRejected(f"{what}: Trove refused {values!r} "
                                            f"({code}: {message})") from None
            with self._trove_errors(what):
                raise
        return Configuration(id=conf.id, name=name, datastore=datastore, version=version,
                             values=dict(self.trove.configurations.get(conf.id).values))

    def attach_configuration(self, instance: Instance, configuration: Configuration) -> None:
        with self._trove_errors("attach configuration"):
            self.trove.instances.update(instance.id, configuration=configuration.id)
        self._settle_configuration(instance, "configuration attach")

    def detach_configuration(self, instance: Instance) -> None:
        with self._trove_errors("detach configuration"):
            self.trove.instances.update(instance.id, remove_configuration=True)
        self._settle_configuration(instance, "configuration detach")

    def _settle_configuration(self, instance: Instance, what: str) -> None:
        """Trove applies dynamic values at once and leaves the instance
        RESTART_REQUIRED when a value needs a restart (or a detach cannot
        reset one); the verb's promise is the values in effect, so the
        backend then restarts through Trove, as its user would."""
        record = self.wait_ready(instance, self.timeouts.trove_action, what,
                                 ready=RESTART_REQUIRED)
        if record.get("status") == "RESTART_REQUIRED":
            instance.extra.setdefault("restarts_required", []).append(what)
            self.restart_instance(instance)

    def delete_configuration(self, configuration: Configuration) -> None:
        with self._trove_errors("delete configuration"):
            self.trove.configurations.delete(configuration.id)

    # backups ----------------------------------------------------------------
    def create_backup(self, instance: Instance, strategy: str,
                      parent: Backup | None = None) -> Backup:
        """strategy names the catalog strategy; Trove picks its implementation
        from the datastore's configuration (backup_strategy), recorded here."""
        with self._trove_errors(f"create {strategy} backup"):
            created = self.trove.backups.create(
                f"verify-{strategy}-{instance.name}"[:80], instance.id,
                parent_id=parent.id if parent else None,
                incremental=parent is not None)
        try:
            info = self.wait_backup(created.id)
        except EngineError:
            self._forget_backup(created.id)    # nothing left behind in Trove or Swift
            raise
        return Backup(strategy=strategy, path=None, parent=parent, id=created.id,
                      instance_id=instance.id,
                      meta={"location": info.get("locationRef"), "size": info.get("size")})

    def _forget_backup(self, backup_id: str) -> None:
        from troveclient import exceptions as tc_exc
        try:
            self.trove.backups.delete(backup_id)
        except tc_exc.ClientException:      # still running (a timeout): the ledger's job
            pass

    def wait_backup(self, backup_id: str) -> dict:
        end = time.monotonic() + self.timeouts.bound("trove_action")
        interval = 0.3
        while True:
            info = self.trove.backups.get(backup_id)._info
            if info.get("status") in BACKUP_DONE:
                return info
            if info.get("status") in BACKUP_FAILED:
                raise EngineError(f"Trove backup {backup_id} went {info.get('status')}")
            if deadline.over(end):
                raise WaitTimeout(deadline.cut_short(f"Trove backup {backup_id}") or
                                  f"Trove backup {backup_id} still {info.get('status')} after "
                                  f"{self.timeouts.trove_action:.0f}s")
            time.sleep(interval)
            interval = min(interval * 1.5, self.poll_interval)

    def list_backups(self, instance: Instance) -> list[str]:
        return [b.id for b in self.trove.instances.backups(instance.id)]

    def delete_backup(self, backup: Backup) -> None:
        with self._trove_errors("delete backup"):
            self.trove.backups.delete(backup.id)
        self._wait_gone(lambda: self.trove.backups.get(backup.id),
                        f"Trove backup {backup.id} deletion")

    # replication --------------------------------------------------------------
    def create_replica(self, primary: Instance, strategy: str, *,
                       name: str = "replica") -> Instance:
        """Trove picks the replication strategy from the datastore's
        configuration (replication_strategy); strategy is the catalog's name."""
        replica = self.create_instance(primary.datastore, primary.version, name=name,
                                       volume_gb=primary.volume_gb, replica_of=primary.id)
        primary.replicas = self.replicas(primary)
        return replica

    def replica_source(self, replica: Instance) -> str | None:
        record = self.get_instance(replica)
        return (record.get("replica_of") or {}).get("id")

    def replicas(self, source: Instance) -> list[str]:
        return [r["id"] for r in self.get_instance(source).get("replicas", [])]

    def promote_to_replica_source(self, replica: Instance) -> None:
        with self._trove_errors("promote to replica source"):
            self.trove.instances.promote_to_replica_source(replica.id)
        self.wait_ready(replica, self.timeouts.trove_action, "promote")

    def eject_replica_source(self, primary: Instance) -> Instance:
        """Eject the lost source: Trove promotes its most current replica.

        Trove ejects only a source whose guest has stopped reporting (its
        heartbeat older than agent_heartbeat_expiry, 90 s by default). Where
        the deployment lets the harness into its guests (the box), the
        source's guest agent is stopped first, as a source lost, recorded
        with the instance's faults, and the eject is asked again until Trove
        accepts it, within the scenario's bound; elsewhere Trove's refusal
        of a live source is the scenario's answer."""
        candidates = [self._live[r] for r in self.replicas(primary) if r in self._live]
        asked = time.time()
        if self.guest_faults is None:
            with self._trove_errors("eject replica source"):
                self.trove.instances.eject_replica_source(primary.id)
        else:
            self.silence_agent(primary)
            own = self.timeouts.trove_action
            end = time.monotonic() + deadline.bound(own)
            while not self._ejected(primary):
                if deadline.over(end):
                    raise WaitTimeout(deadline.cut_short(f"eject of {primary.id}") or
                                      f"Trove still took {primary.id}'s heartbeat as current "
                                      f"{own:.0f}s after its guest agent stopped")
                time.sleep(5.0)
        for replica in candidates:      # the eject runs on every replica's guest
            try:
                self.wait_ready(replica, self.timeouts.trove_action, "eject", since=asked)
            except EngineError as exc:
                method = agent_lacks(str(exc))
                if method is None:
                    raise
                # Trove's API took it, its task manager asked the agent for
                # what this datastore's agent does not have
                raise NotSupported(f"not implemented by Trove {self.trove_version()}: eject "
                                   f"replica source: {primary.datastore}'s guest agent has no "
                                   f"{method} ({str(exc).splitlines()[0]})") from None
        for replica in candidates:
            if not self.trove.instances.get(replica.id)._info.get("replica_of"):
                replica.replica_of = None
                return replica
        raise EngineError(f"no replica of {primary.id} became the source after eject")

    def _ejected(self, primary: Instance) -> bool:
        from troveclient import exceptions as tc_exc
        with self._trove_errors("eject replica source"):
            try:
                self.trove.instances.eject_replica_source(primary.id)
            except tc_exc.ClientException as exc:
                if refused_to_eject_a_live_source(*answer_of(exc)):
                    return False    # not yet past agent_heartbeat_expiry
                raise
        return True

    def detach_replica(self, replica: Instance) -> None:
        with self._trove_errors("detach replica"):
            self.trove.instances.update(replica.id, detach_replica_source=True)
        self.wait_ready(replica, self.timeouts.trove_action, "detach")

    # the instance itself -------------------------------------------------------
    def show_instance(self, instance_id: str) -> Instance:
        with self._trove_errors("show instance"):
            found = self.trove.instances.get(instance_id)
            ram = self.trove.flavors.get(found.flavor["id"]).ram
        record = found._info
        ds = record.get("datastore") or {}
        # the harness's size the Trove flavor serves: the largest that fits
        size = max((f for f in FLAVORS.values() if f.memory_mb <= ram),
                   key=lambda f: f.memory_mb, default=FLAVORS["tiny"])
        inst = Instance(id=found.id, name=found.name.removeprefix("verify-"),
                        datastore=ds.get("type", ""), version=ds.get("version", ""),
                        flavor=size, volume_gb=(record.get("volume") or {}).get("size", 0),
                        status=found.status, guest="trove", extra={"record": record},
                        operating_status=record.get("operating_status") or "",
                        replica_of=(record.get("replica_of") or {}).get("id"),
                        replicas=[r["id"] for r in record.get("replicas") or []],
                        configuration=(record.get("configuration") or {}).get("id"))
        self._learn_address(inst, record)
        return inst

    def restart_instance(self, instance: Instance) -> None:
        with self._trove_errors("restart"):
            self.trove.instances.restart(instance.id)
        self.wait_ready(instance, self.timeouts.trove_action, "restart")

    def update_instance(self, instance: Instance, *, name: str) -> None:
        with self._trove_errors("rename"):
            self.trove.instances.update(instance.id, name=f"verify-{name}"[:80])
        instance.name = name

    # resize and upgrade --------------------------------------------------------
    def resize_volume(self, instance: Instance, gb: int) -> None:
        with self._trove_errors("resize volume"):
            self.trove.instances.resize_volume(instance.id, gb)
        self.wait_ready(instance, self.timeouts.trove_action, "resize volume")
        instance.volume_gb = gb

    def resize_instance(self, instance: Instance, flavor: str) -> None:
        with self._trove_errors("resize flavor"):
            self.trove.instances.resize_instance(instance.id, self.flavor_for(flavor))
        self.wait_ready(instance, self.timeouts.trove_action, "resize flavor")

    def agent_log(self, instance: Instance) -> Path | None:
        """The box guest's trove-guestagent.log (None outside the box)."""
        if self.box is None:
            return None
        from verify.box import client as box_client
        return next((p for p in box_client.instance_logs(self.box, instance.id)
                     if p.name == "trove-guestagent.log"), None)

    def upgrade_instance(self, instance: Instance, version: str) -> None:
        """Trove's upgrade is a cast: the API answers 202 and shows the new
        version at once, and a guest agent that refuses (Trove 26 allows no
        major-version upgrade) only says so in its log while the task manager
        waits for a healthy service. The refusal ends the wait at once and is
        recorded as Trove's, with the agent's lines."""
        log = self.agent_log(instance)
        mark = log.stat().st_size if log is not None and log.exists() else 0
        what = f"upgrade {instance.datastore} {instance.version} -> {version}"

        def refused() -> None:
            line = agent_refusal(log, mark, "upgrade") if log is not None else None
            if line:
                raise NotSupported(
                    f"not implemented by Trove {self.trove_version()}: {what}: its guest "
                    f"agent refused ({line}) while the API shows the instance "
                    f"{instance.status or '?'}; guest-agent log {log}")
        with self._trove_errors(what):
            self.trove.instances.upgrade(instance.id, version)
        self.wait_ready(instance, self.timeouts.trove_action, "upgrade", abort=refused)
        refused()   # a refusal logged just as the API went back to ACTIVE
        instance.version = version
