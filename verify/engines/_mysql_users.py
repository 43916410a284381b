"""User-access operations MariaDB and MySQL share (same SQL, same PyMySQL
client): mixed into both servers instead of written twice."""

from __future__ import annotations

from collections.abc import Sequence


class MySQLFamilyUsers:
    """Needs from the server: query() and client() (a MariaDBClient)."""

    def change_password(self, user: str, password: str) -> None:
        self.query("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))

    def grant_access(self, user: str, databases: Sequence[str]) -> None:
        with self.client() as c:
            for db in databases:
                c.grant(user, db)

    def revoke_access(self, user: str, database: str) -> None:
        with self.client() as c:
            c.revoke(user, database)

    def list_access(self, user: str) -> list[str]:
        rows = self.query("SELECT Db FROM mysql.db WHERE User=%s AND Host='%%'", (user,))
        return sorted(r[0] for r in rows)
