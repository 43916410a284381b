"""What MariaDB and MySQL do the same way (same SQL, same PyMySQL client):
user access and configuration groups, mixed into both servers instead of
written twice."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from verify.engines.capabilities import ClientGrants, ConfigRule, apply_values, remove_values
from verify.errors import EngineError

# A subset of Trove's mysql/mariadb validation-rules.json: real parameters
# both servers have, with Trove's bounds.
CONFIG_RULES = {r.name: r for r in (
    ConfigRule("max_connections", "integer", True, 1, 100000, example=77),
    ConfigRule("wait_timeout", "integer", True, 1, 31536000, example=1234),
    ConfigRule("innodb_open_files", "integer", False, 10, 4294967295, example=555),
    ConfigRule("max_allowed_packet", "integer", True, 1024, 1073741824),
    ConfigRule("long_query_time", "float", True, 0, 31536000),
    ConfigRule("general_log", "boolean", True),
    ConfigRule("performance_schema", "boolean", False),
    ConfigRule("character_set_server", "string", True),
)}


def variable_name(name: str) -> str:
    """A system variable name, checked before it is put into SQL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise EngineError(f"{name!r} is not a MySQL/MariaDB system variable name")
    return name


def boot_id(client) -> str:
    """An id that changes when the server restarts, read through an open
    PyMySQL-family client: a MEMORY table keeps its definition but loses its
    rows on restart (mysqld is PID 1 in Trove's container: no pid to compare)."""
    client.query("CREATE TABLE IF NOT EXISTS mysql.verify_boot (id VARCHAR(32)) ENGINE=MEMORY")
    rows = client.query("SELECT id FROM mysql.verify_boot")
    if rows:
        return rows[0][0]
    boot = secrets.token_hex(8)
    client.query("INSERT INTO mysql.verify_boot VALUES (%s)", (boot,))
    return boot


def option_value(value: object) -> object:
    """A configuration-group value as SET GLOBAL and my.cnf take it."""
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    return value


class MySQLFamilyServer:
    """What a MariaDB or MySQL server answers alike, through self.client()."""

    def ping(self) -> bool:
        with self.client() as c:
            return c.query("SELECT 1") == [(1,)]

    def query(self, sql: str, args: tuple | None = None) -> list[tuple]:
        with self.client() as c:
            return c.query(sql, args)

    def log_files(self) -> dict[str, Path]:
        logs = {"error": "error.log", "general": "general.log", "slow_query": "slow.log"}
        return {name: self.runtime.path(f"{self.base}/log/{f}") for name, f in logs.items()}


class MySQLFamilyUsers(ClientGrants):
    """Needs from the server: query() and client() (a MySQLFamilyClient)."""

    def change_password(self, user: str, password: str) -> None:
        self.query("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))

    def list_access(self, user: str) -> list[str]:
        rows = self.query("SELECT Db FROM mysql.db WHERE User=%s AND Host='%%'", (user,))
        return sorted(r[0] for r in rows)


class MySQLFamilyConfig:
    """Needs from the server: CONFIG_RULES, settings (written to my.cnf by
    write_config()), client() and restart()."""

    def setting(self, name: str) -> str:
        with self.client() as c:
            (value,), = c.query(f"SELECT @@GLOBAL.{variable_name(name)}")
        return str(value)

    def apply_configuration(self, values: dict[str, object]) -> bool:
        """values were validated against CONFIG_RULES by the caller; True when
        a non-dynamic one needed a restart."""
        def store(name: str, value: object) -> object:
            value = self.settings[name] = option_value(value)
            return value

        with self.client() as c:
            restart = apply_values(
                self.CONFIG_RULES, values, store,
                lambda name, value: c.query(f"SET GLOBAL {variable_name(name)} = %s", (value,)))
        self._settle(restart)
        return restart

    def remove_configuration(self, names: list[str]) -> bool:
        def forget(name: str) -> bool:
            self.settings.pop(name, None)
            return True

        with self.client() as c:
            restart = remove_values(
                self.CONFIG_RULES, names, forget,
                lambda name: c.query(f"SET GLOBAL {variable_name(name)} = DEFAULT"))
        self._settle(restart)
        return restart

    def _settle(self, restart: bool) -> None:
        if restart:
            self.restart()
        else:
            self.write_config()     # a later restart keeps the values
