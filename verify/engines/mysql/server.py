"""Oracle MySQL (9.7 as Debian sid packages it, or a user's own mysqld).

Launch: ``mysqld --initialize-insecure``, then the first start runs an
init-file that sets every account's password before the server listens;
probe and operate through PyMySQL (the MySQL family's client).
Backup and replication live in replication.py, Group Replication in cluster.py.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
from pathlib import Path

from verify.engines.base import Credentials, Server, random_password, wait_for
from verify.engines.capabilities import CapabilityOps
from verify.engines.mysql.client import ENGINE, MySQLClient, connect
from verify.engines.mysql.cluster import GroupOps
from verify.engines.mysql.replication import MySQLOps
from verify.engines.mysql_family.ops import (
    CONFIG_RULES,
    MySQLFamilyConfig,
    MySQLFamilyServer,
    MySQLFamilyUsers,
)
from verify.errors import EngineError

ENV_MYSQLD = "TROVE_VERIFY_MYSQLD"
GUEST_MYSQLD = "/usr/sbin/mysqld"      # where the debian-mysql element puts it

def host_mysqld() -> tuple[str | None, str]:
    """(path, why-not) of an Oracle MySQL mysqld on this host, for process guests."""
    path = os.environ.get(ENV_MYSQLD) or shutil.which("mysqld")
    looked = f"${ENV_MYSQLD} and mysqld on PATH"
    if not path:
        return None, f"no mysqld found (looked at {looked})"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, timeout=30,
                             text=True).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{path} does not run ({exc})"
    if "mariadb" in out.lower():
        return None, f"{path} is MariaDB's, not Oracle MySQL's (looked at {looked})"
    return path, ""


def host_unavailable() -> str | None:
    """Why a process guest cannot run MySQL from this host's binaries."""
    path, why = host_mysqld()
    if path:
        return None
    return (f"cannot launch mysql on a process guest: {why}; set {ENV_MYSQLD}=/path/to/mysqld "
            "(Oracle MySQL), use --guest namespace (Debian sid image), or verify it "
            "through a Trove deployment with --backend trove")


class MySQLServer(GroupOps, MySQLOps, MySQLFamilyServer, MySQLFamilyUsers, MySQLFamilyConfig,
                  CapabilityOps, Server):
    engine = ENGINE
    default_port = 3306
    CONFIG_RULES = CONFIG_RULES
    REPLICA_SEED = "clone"       # a physical copy: consistent, binlog position held

    def __init__(self, runtime, **kwargs):
        super().__init__(runtime, **kwargs)
        self.server_id = random.randint(2, 2**31)
        self.root_password = ""
        self._initialised = False
        self._bootstrap_pending = False
        # a process guest runs the host's (or the user's) mysqld; an image
        # guest runs the packaged one
        if runtime.host_binaries:
            self.mysqld = host_mysqld()[0] or "mysqld"
        else:
            self.mysqld = GUEST_MYSQLD
        self.bindir = str(Path(self.mysqld).parent)

    # layout ---------------------------------------------------------------

    @property
    def datadir(self) -> str:
        return f"{self.base}/data"

    @property
    def socket(self) -> str:
        return f"{self.base}/run/mysqld.sock"

    @property
    def config_file(self) -> str:
        return f"{self.base}/my.cnf"

    def tool(self, name: str) -> str:
        """mysqldump / mysql beside mysqld (bin/ next to sbin/ in packages)."""
        for d in (self.bindir, str(Path(self.bindir).parent / "bin")):
            if self.runtime.path(f"{d}/{name}").exists():
                return f"{d}/{name}"
        return name

    def _user_args(self) -> list[str]:
        user = getattr(self.runtime, "service_user", "")
        return [f"--user={user}"] if user else []

    def _error_tail(self, lines: int = 3) -> str:
        try:
            text = self.runtime.path(f"{self.base}/log/error.log").read_text(errors="replace")
        except OSError:
            return "no error log"
        return "error log: " + " | ".join(text.strip().splitlines()[-lines:])

    def _config(self, plugins: bool = True) -> str:
        b = self.base
        lines = [
            "[mysqld]",
            f"datadir={self.datadir}",
            f"socket={self.socket}",
            f"pid-file={b}/run/mysqld.pid",
            f"port={self.port}",
            f"bind-address={self.runtime.bind_address}",
            "mysqlx=OFF",
            f"log-error={b}/log/error.log",
            f"general_log_file={b}/log/general.log",
            f"slow_query_log_file={b}/log/slow.log",
            "slow_query_log=ON",
            f"innodb_buffer_pool_size={self.memory_setting_mb(self.memory_mb)}M",
            f"innodb_log_buffer_size={8 if self.memory_mb < 1024 else 16}M",
            "innodb_redo_log_capacity=16M",
            "innodb_flush_log_at_trx_commit=2",
            "sync_binlog=0",
            f"tmpdir={b}/tmp",
            "skip-name-resolve",
            # replication-ready from the start, as Trove configures MySQL
            f"server_id={self.server_id}",
            f"log_bin={b}/data/binlog",
            "gtid_mode=ON",
            "enforce_gtid_consistency=ON",
        ]
        if self.memory_mb < 512:
            # performance_schema alone takes ~250 MB in MySQL 9: a 256 MB
            # flavor runs without it
            lines.append("performance_schema=OFF")
        lines += self._group_lines() if plugins else []
        lines += [f"{k}={v}" for k, v in self.settings.items()]
        return "\n".join(lines) + "\n"

    def _client_config(self) -> str:
        return ("[client]\n"
                f"user={self.admin.user}\npassword={self.admin.password}\n"
                f"socket={self.socket}\n")

    def _bootstrap_sql(self) -> str:
        # Runs before the server accepts connections: no window in which a
        # password-less account is reachable. --initialize-insecure leaves
        # only root@localhost without a password; nothing anonymous.
        # Not binlogged: a replica's own passwords must never reach a primary
        # that later follows it.
        sql = [
            "SET sql_log_bin = 0;",
            "DELETE FROM mysql.user WHERE User='';",
            f"ALTER USER 'root'@'localhost' IDENTIFIED BY '{self.root_password}';",
            f"CREATE USER IF NOT EXISTS '{self.admin.user}'@'%' "
            f"IDENTIFIED BY '{self.admin.password}';",
            f"ALTER USER '{self.admin.user}'@'%' IDENTIFIED BY '{self.admin.password}';",
            f"GRANT ALL PRIVILEGES ON *.* TO '{self.admin.user}'@'%' WITH GRANT OPTION;",
        ]
        return "\n".join(sql) + "\n"

    # lifecycle --------------------------------------------------------------
    def initialise(self, fresh: bool = True) -> None:
        b = self.base
        self.runtime.make_dirs(b, f"{b}/run", f"{b}/log", f"{b}/tmp", f"{b}/backups",
                               mode=0o750)
        # the data directory is made without plugins (group replication's
        # settings are unknown to --initialize)
        self.runtime.write_file(self.config_file, self._config(plugins=False), mode=0o640)
        self.runtime.write_file(f"{b}/client.cnf", self._client_config(), mode=0o600)
        if fresh:
            try:
                self.runtime.run([self.mysqld, f"--defaults-file={self.config_file}",
                                  "--initialize-insecure", *self._user_args()],
                                 timeout=self.timeouts.command)
            except EngineError as exc:
                raise EngineError(f"{exc}; {self._error_tail()}") from None
        self.root_password = random_password()
        self._initialised = True
        self._bootstrap_pending = True    # fresh or restored: set every password

    def start(self) -> None:
        if not self._initialised:
            self.initialise()
        self.write_config()
        bootstrap, extra = self._bootstrap_pending, []
        if bootstrap:
            self.runtime.write_file(f"{self.base}/init.sql", self._bootstrap_sql(), mode=0o600)
            extra = [f"--init-file={self.base}/init.sql"]
        self.process = self.runtime.spawn(
            [self.mysqld, f"--defaults-file={self.config_file}", *self._user_args(), *extra],
            log_file=f"{self.base}/log/console.log")
        wait_for(self.ping, timeout=self.timeouts.engine_start,
                 what=f"MySQL on {self.runtime.address}:{self.port}", alive=self.running)
        init = self.runtime.path(f"{self.base}/init.sql")
        if init.exists():
            init.unlink()
        if bootstrap:
            self._bootstrap_pending = False
            self.check_accounts()

    def write_config(self) -> None:
        self.runtime.write_file(self.config_file, self._config(), mode=0o640)

    def check_accounts(self) -> None:
        """No anonymous and no password-less login may exist once it listens."""
        with self.client() as c:
            bad = c.query("SELECT User, Host FROM mysql.user WHERE account_locked='N' "
                          "AND (User='' OR authentication_string='')")
        if bad:
            raise EngineError(f"MySQL left accounts without a password: {bad}")

    def client(self, database: str | None = None) -> MySQLClient:
        return connect(self.runtime.address, self.port, self.admin, database)

    # instance -------------------------------------------------------------
    def memory_setting_mb(self, memory_mb: int) -> int:
        # a quarter of the flavor for the buffer pool, as Trove's templates do
        return max(32, memory_mb // 4)

    def memory_in_effect_mb(self) -> int:
        return int(self.setting("innodb_buffer_pool_size")) // (1024 * 1024)

    def boot_id(self) -> str:
        # mysqld's process id as InnoDB reports it: new on every start, and
        # there without performance_schema
        (_type, _name, status), = self.query("SHOW ENGINE INNODB STATUS")
        match = re.search(r"Process ID=(\d+)", status)
        if match is None:
            raise EngineError("SHOW ENGINE INNODB STATUS names no process id")
        return match.group(1)

    # root -----------------------------------------------------------------
    def enable_root(self) -> Credentials:
        creds = Credentials("root", random_password())
        with self.client() as c:
            c.query("CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY %s",
                    (creds.password,))
            c.query("ALTER USER 'root'@'%%' IDENTIFIED BY %s", (creds.password,))
            c.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION")
        return creds

    def root_enabled(self) -> bool:
        with self.client() as c:
            return bool(c.query("SELECT 1 FROM mysql.user WHERE User='root' AND Host='%'"))

    def disable_root(self) -> None:
        with self.client() as c:
            c.query("DROP USER IF EXISTS 'root'@'%'")


SERVER = MySQLServer
