"""MariaDB's client: the MySQL family's, identifying MariaDB."""

from __future__ import annotations

from verify.engines.base import Credentials, Identity
from verify.engines.mysql_family.client import MySQLFamilyClient

ENGINE = "mariadb"


def identity_from(version: str, comment: str) -> Identity:
    """MariaDB and MySQL both answer VERSION(); only MariaDB says so in it."""
    name = "mariadb" if "mariadb" in version.lower() else "mysql"
    return Identity(name=name, version=version.split("-")[0], distribution=comment)


class MariaDBClient(MySQLFamilyClient):
    identify = staticmethod(identity_from)


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> MariaDBClient:
    return MariaDBClient(host, port, creds, database, timeout)
