"""Property 4, nobody in: a real MariaDB launched by the harness listens on
loopback only, has no anonymous account and no password-less login, never
runs as root, and every file holding a credential is private (0600)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pymysql
import pytest

from tests.conftest import need
from verify import redact
from verify.catalog import default as default_catalog
from verify.state import Ledger

LOOPBACK = ("127.0.0.1", "::1")


WRITTEN: list[tuple[str, int, bool]] = []


@pytest.fixture
def instance(workdir, monkeypatch):
    need("mariadbd")
    monkeypatch.setenv("TROVE_VERIFY_WORKDIR", str(workdir))
    from verify.backends.local import LocalBackend
    from verify.guests.process import ProcessGuest

    original = ProcessGuest.write_file

    def watched(self, guest_path, content, *, mode=0o644):
        # note every file the guest writes: its mode on disk and whether it holds a secret
        original(self, guest_path, content, mode=mode)
        secret = any(s in content for s in redact.known())
        WRITTEN.append((guest_path, stat.S_IMODE(os.stat(guest_path).st_mode), secret))

    monkeypatch.setattr(ProcessGuest, "write_file", watched)
    WRITTEN.clear()

    ledger = Ledger("nobody-in", workdir / "state")
    backend = LocalBackend(default_catalog(), guest="process", ledger=ledger)
    inst = backend.create_instance("mariadb", "10.11", name="nobody-in")
    try:
        yield backend, inst, ledger
    finally:
        backend.close()
        ledger.teardown()


def _listening(pid: int) -> list[str]:
    ss = subprocess.run(["ss", "-Hltnpu"], capture_output=True, text=True, check=True).stdout
    return [line.split()[4] for line in ss.splitlines() if f"pid={pid}," in line]


def test_listens_on_guest_address_only(instance):
    backend, inst, _ = instance
    pid = inst.extra["server"].process.pid
    addresses = _listening(pid)
    assert addresses, "the server listens somewhere"
    for addr in addresses:
        host = addr.rsplit(":", 1)[0].strip("[]")
        assert host in LOOPBACK or host == inst.address, f"server listens on {addr}"


def test_server_never_runs_as_root(instance):
    _, inst, _ = instance
    pid = inst.extra["server"].process.pid
    status = Path(f"/proc/{pid}/status").read_text()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    gids = re.search(r"^Gid:\s+(.*)$", status, re.M).group(1).split()
    assert "0" not in uids and "0" not in gids, (uids, gids)
    for task in Path(f"/proc/{pid}/task").iterdir():
        assert "\nUid:\t0" not in (task / "status").read_text()


def test_no_anonymous_account_and_no_empty_password(instance):
    backend, inst, _ = instance
    with inst.extra["server"].client() as c:
        rows = c.query("SELECT User, Host, Priv FROM mysql.global_priv")
    assert rows
    for user, host, priv in rows:
        assert user != "", f"anonymous account @{host}"
        p = json.loads(priv)
        locked = p.get("account_locked") or p.get("plugin") == "invalid"
        empty = p.get("authentication_string", "") == "" and p.get("plugin") in (
            None, "", "mysql_native_password", "mysql_old_password")
        assert locked or not empty, f"{user}@{host} logs in without a password: {p}"
    # and for real: password-less and anonymous logins are refused
    for user in ("", "root", "os_admin", "mariadb.sys"):
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host=inst.address, port=inst.port, user=user, password="",
                            connect_timeout=5).close()


def test_credential_files_are_private(instance):
    _, inst, ledger = instance
    root = Path(inst.extra["guest"].data_root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert not (root / "init.sql").exists(), "bootstrap SQL with passwords must go"
    secrets = [s.encode() for s in redact.known()]
    holding = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(s in data for s in secrets):
                holding.append(path)
                assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path} is not 0600"
    with_secret = [(p, m) for p, m, secret in WRITTEN if secret]
    assert with_secret, "the bootstrap SQL carries passwords; it must have been seen"
    assert all(m == 0o600 for _, m in with_secret), with_secret
    assert stat.S_IMODE(ledger.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(ledger.dir.stat().st_mode) == 0o700
    assert os.stat(root).st_uid != 0 or os.geteuid() != 0
    print(f"\n{len(with_secret)} credential files written, {len(holding)} left; all 0600")
