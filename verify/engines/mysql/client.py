"""Oracle MySQL's client: the MySQL family's, telling MySQL from its forks."""

from __future__ import annotations

from verify.engines.base import Credentials, Identity
from verify.engines.mysql_family.client import MySQLFamilyClient

ENGINE = "mysql"


def identity_from(version: str, comment: str) -> Identity:
    """MariaDB and Percona answer VERSION() too; only Oracle MySQL is mysql."""
    text = f"{version} {comment}".lower()
    name = ("mariadb" if "mariadb" in text else
            "percona-server" if "percona" in text else "mysql")
    return Identity(name=name, version=version.split("-")[0], distribution=comment.strip("()"))


class MySQLClient(MySQLFamilyClient):
    """PyMySQL speaks caching_sha2_password (MySQL's default) over TCP."""

    identify = staticmethod(identity_from)


def connect(host: str, port: int, creds: Credentials, database: str | None = None,
            timeout: float = 10.0) -> MySQLClient:
    return MySQLClient(host, port, creds, database, timeout)
