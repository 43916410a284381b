"""What the engine itself reports about a Trove instance, mixed into
TroveBackend: the server's boot, a setting, its memory setting, read-only.

Every readout goes through the engine's own client (PyMySQL, psycopg) at the
address Trove reports for the instance, logged in as the root user Trove's
root-enable hands out, never through Trove's word and never through the
guest's files. What the memory setting *should* be comes from the config
template of the Trove under test (trove/templates/<datastore>/config.template),
rendered for the Trove flavor's RAM as Trove renders it.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from verify.backends.base import Instance
from verify.engines.base import Credentials, wait_for
from verify.engines.mysql_family.ops import boot_id as mysql_family_boot_id
from verify.engines.postgresql.client import PostgreSQLClient
from verify.errors import EngineError, NotSupported

MYSQL_FAMILY = ("mariadb", "mysql")
# the server setting each datastore sizes from the flavor in Trove's templates
MEMORY_SETTING = {"mariadb": "innodb_buffer_pool_size", "mysql": "innodb_buffer_pool_size",
                  "postgresql": "shared_buffers"}
_NAME = re.compile(r"[a-z_][a-z0-9_.]*")
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "8kb": 8 << 10}


def setting_name(name: str) -> str:
    """A server variable name, checked before it goes into SQL."""
    if not _NAME.fullmatch(name):
        raise EngineError(f"{name!r} is not a server setting name")
    return name


def size_mb(value: str) -> int:
    """'150M', '51MB', '1G', '157286400' (bytes) as whole MB."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _UNITS:
        raise EngineError(f"{value!r} is not a memory size")
    return int(match.group(1)) * _UNITS[match.group(2).lower()] // (1 << 20)


def template_candidates(package_dir: Path, datastore: str, version: str) -> list[Path]:
    """The config templates Trove would pick for this version, in its order
    (trove/common/template.py SingleInstanceConfigTemplate.get_template)."""
    parts = (re.findall(r"\d+", version) + ["0", "0"])[:2]
    base = package_dir / "templates" / datastore
    return [base / version / "config.template", base / f"{parts[0]}.{parts[1]}" /
            "config.template", base / parts[0] / "config.template", base / "config.template"]


def template_setting_mb(package_dir: Path, datastore: str, version: str, setting: str,
                        ram_mb: int, vcpus: int = 1) -> int:
    """The value (MB) Trove's own config template gives `setting` for a
    flavor with ram_mb of RAM."""
    import jinja2

    path = next((p for p in template_candidates(package_dir, datastore, version)
                 if p.is_file()), None)
    if path is None:
        raise NotSupported(f"the Trove under test has no config template for {datastore} "
                           f"{version} under {package_dir / 'templates'}")
    major, minor, patch = (int(n) for n in (re.findall(r"\d+", version) + ["0"] * 3)[:3])
    semantic = SimpleNamespace(major=major, minor=minor, patch=patch)
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    env.globals.update(max=max, min=min)     # as trove/common/utils.py's environment
    rendered = env.from_string(path.read_text()).render(
        flavor={"ram": ram_mb, "vcpus": vcpus, "name": "verify", "id": "verify"},
        datastore={"name": datastore, "manager": datastore, "version": version,
                   "semantic_version": semantic},
        server_id=1)
    for line in rendered.splitlines():
        key, sep, value = line.split("#", 1)[0].partition("=")
        if sep and key.strip() == setting:
            return size_mb(value.strip().strip("'\""))
    raise NotSupported(f"Trove's template {path} does not set {setting}")


class TroveReadouts:
    """Needs self.connect, self.enable_root, self.trove, self.box, self.catalog,
    self.timeouts, self._live (the run's instances by id)."""

    def _writable(self, instance: Instance) -> Instance:
        """Where users and root are made for instance: its source when it is a
        replica (read-only: PostgreSQL refuses CREATE ROLE on a standby), from
        where they reach it by replication; otherwise itself."""
        return self._live.get(instance.replica_of or "", instance)

    def _login(self, instance: Instance, creds: Credentials):
        """The engine's client logged in as creds; on a replica the login may
        be a moment behind its source, so it is retried, bounded."""
        if not instance.replica_of:
            return self.connect(instance, creds)
        return wait_for(lambda: self.connect(instance, creds), interval=1.0,
                        what=f"{creds.user}'s login replicated to {instance.id}",
                        timeout=self.timeouts.command)

    def _admin(self, instance: Instance) -> Credentials:
        """Root as Trove's root-enable gives it (kept per instance: a second
        enable would change the password the scenario may hold)."""
        owner = self._writable(instance)
        return instance.extra.get("root") or owner.extra.get("root") or self.enable_root(owner)

    def _family(self, instance: Instance, what: str) -> str:
        if instance.datastore in MYSQL_FAMILY:
            return "mysql"
        if instance.datastore == "postgresql":
            return "postgresql"
        raise NotSupported(f"the trove backend reads no {what} from {instance.datastore} "
                           "servers (only the MySQL family and PostgreSQL)")

    def _query(self, instance: Instance, sql: str, args: tuple | None = None) -> list[tuple]:
        with self._login(instance, self._admin(instance)) as client:
            return client.query(sql, args)

    def read_setting(self, instance: Instance, name: str) -> str:
        if self._family(instance, "setting") == "mysql":
            (value,), = self._query(instance, f"SELECT @@GLOBAL.{setting_name(name)}")
            return str(value)
        # not _query: its session bounds statements (-c statement_timeout),
        # which would mask the server's own statement_timeout
        host, port = self.address_of(instance)
        with PostgreSQLClient(host, port, self._admin(instance), bounded=False) as client:
            rows = client.query("SELECT setting FROM pg_settings WHERE name = %s",
                                (setting_name(name),))
        if not rows:
            raise EngineError(f"PostgreSQL has no setting {name!r}")
        return str(rows[0][0])

    def boot_id(self, instance: Instance) -> str:
        if self._family(instance, "boot id") == "postgresql":
            (started,), = self._query(instance, "SELECT pg_postmaster_start_time()::text")
            return str(started)
        with self.connect(instance, self._admin(instance)) as c:
            return mysql_family_boot_id(c)

    def read_only(self, instance: Instance) -> bool:
        if self._family(instance, "read-only state") == "postgresql":
            (recovery,), = self._query(instance, "SELECT pg_is_in_recovery()")
            return bool(recovery)
        (value,), = self._query(instance, "SELECT @@GLOBAL.read_only")
        return str(value).lower() in ("1", "on", "true")

    def memory_in_effect(self, instance: Instance) -> tuple[int, int]:
        """(the server's memory setting in MB, what Trove's template gives the
        instance's Trove flavor)."""
        self._family(instance, "memory setting")
        setting = MEMORY_SETTING[instance.datastore]
        record = self.trove.instances.get(instance.id)._info
        flavor = self.trove.flavors.get((record.get("flavor") or {}).get("id"))
        expected = template_setting_mb(self._trove_package(), instance.datastore,
                                       instance.version, setting, flavor.ram,
                                       getattr(flavor, "vcpus", 1))
        if instance.datastore == "postgresql":
            (blocks, unit), = self._query(instance, "SELECT setting::bigint, unit FROM "
                                                    "pg_settings WHERE name = %s", (setting,))
            actual = int(blocks) * _UNITS.get(str(unit or "").lower(), 1) // (1 << 20)
        else:
            actual = size_mb(self.read_setting(instance, setting))
        return actual, expected

    def _trove_package(self) -> Path:
        """The Trove under test's package: the box's (a checkout, or the box's
        virtualenv). Another cloud's templates are its operator's: unknown."""
        if self.box is None:
            raise NotSupported("the harness cannot know which config templates this cloud's "
                               "Trove renders (it knows the box's Trove only)")
        from verify.box.trove_install import TroveInstall, default_venv
        source = (self.box.get("trove") or {}).get("source")
        if source:
            return Path(source) / "trove"
        return TroveInstall(venv=default_venv(), version="").package_dir()
