"""Configuration rules and the backend verbs' defaults (no engine needed)."""

import pytest

from verify.backends.base import Backend
from verify.engines.capabilities import (
    Backup,
    CapabilityOps,
    ConfigRule,
    ConfigurationRejected,
    validate_configuration,
)
from verify.errors import NotSupported

RULES = {
    "max_connections": ConfigRule("max_connections", "integer", True, 1, 100000, 77),
    "innodb_open_files": ConfigRule("innodb_open_files", "integer", False, 10, None),
    "read_only": ConfigRule("read_only", "boolean", True),
    "ratio": ConfigRule("ratio", "float", True, 0.0, 1.0),
    "charset": ConfigRule("charset", "string", True),
}


def test_good_values_are_normalised():
    out = validate_configuration(RULES, {"max_connections": "77", "read_only": "ON",
                                         "ratio": 0.5, "charset": "utf8mb4"})
    assert out == {"max_connections": 77, "read_only": True, "ratio": 0.5,
                   "charset": "utf8mb4"}


@pytest.mark.parametrize("name,value,why", [
    ("max_connections", 0, "below the minimum 1"),
    ("max_connections", 100001, "above the maximum 100000"),
    ("max_connections", "lots", "not an integer"),
    ("max_connections", 1.5, "not an integer"),
    ("max_connections", True, "not an integer"),
    ("read_only", "maybe", "not a boolean"),
    ("ratio", "x", "not a number"),
    ("charset", 3, "not a string"),
])
def test_bad_value_names_parameter_value_and_rule(name, value, why):
    with pytest.raises(ConfigurationRejected) as err:
        validate_configuration(RULES, {name: value}, engine="mariadb 10.11")
    text = str(err.value)
    assert f"configuration parameter {name}" in text
    assert repr(value) in text and why in text
    assert "rule: " in text and RULES[name].type in text


def test_unknown_parameter_and_empty_group_refused():
    with pytest.raises(ConfigurationRejected, match="no such parameter.*max_connections"):
        validate_configuration(RULES, {"nope": 1}, engine="mariadb 10.11")
    with pytest.raises(ConfigurationRejected, match="at least one value"):
        validate_configuration(RULES, {})


def test_rule_describes_dynamic_or_restart():
    assert RULES["max_connections"].describe() == "integer, min 1, max 100000, dynamic"
    assert "restart required" in RULES["innodb_open_files"].describe()


def test_backup_chain_oldest_first():
    full = Backup("mariabackup_incremental", None)
    inc1 = Backup("mariabackup_incremental", None, parent=full)
    inc2 = Backup("mariabackup_incremental", None, parent=inc1)
    assert inc2.chain() == [full, inc1, inc2]


class _Bare(Backend):
    name = "bare"
    create_instance = delete_instance = create_database = list_databases = None
    delete_database = create_user = list_users = delete_user = connect = None
    identity = service_credentials = leftovers = collect_logs = None


def test_every_unimplemented_verb_says_not_supported():
    backend = _Bare()
    with pytest.raises(NotSupported, match="bare backend does not implement create_cluster"):
        backend.create_cluster("mariadb", "10.11", "galera", 3)
    with pytest.raises(NotSupported, match="resize_volume"):
        backend.resize_volume(None, 2)


def test_engine_ops_default_to_not_supported():
    class Engine(CapabilityOps):
        engine = "toy"
    with pytest.raises(NotSupported, match="toy engine does not implement promote"):
        Engine().promote()
    with pytest.raises(NotSupported, match="configuration groups"):
        Engine().config_rules()


class _ChrootGuest:
    """A guest whose paths live under a root (as namespace guests' do)."""

    data_root = "/var/lib/verify"

    def __init__(self, root):
        self.root = root

    def path(self, guest_path):
        return self.root / guest_path.lstrip("/")


def test_place_backup_copies_a_chain_into_a_guest_with_its_own_paths(tmp_path):
    from pathlib import Path

    from verify.backends.base import FLAVORS, Instance
    from verify.backends.local_ops import LocalOps

    store = tmp_path / "store"
    full_dir, inc_dir = store / "backup-full", store / "backup-inc"
    for d in (full_dir, inc_dir):
        (d / "data").mkdir(parents=True)
        (d / "data" / "f").write_text(d.name)
    full = Backup("mariabackup_incremental", full_dir, id="backup-full")
    inc = Backup("mariabackup_incremental", inc_dir, parent=full, id="backup-inc")
    root = tmp_path / "guest"
    (root / "var/lib/verify").mkdir(parents=True)
    inst = Instance("i", "n", "mariadb", "10.11", FLAVORS["small"], 1,
                    extra={"guest": _ChrootGuest(root)})
    placed = LocalOps().place_backup(inst, inc)
    assert placed.path == Path("/var/lib/verify/backup-copies/backup-inc")
    assert placed.parent.path == Path("/var/lib/verify/backup-copies/backup-full")
    assert (root / "var/lib/verify/backup-copies/backup-full/data/f").read_text() == \
        "backup-full"
    assert inc.path == inc_dir and inc.parent is full     # the stored backup is untouched


def test_place_backup_uses_the_store_where_guest_paths_are_host_paths(tmp_path):
    from verify.backends.base import FLAVORS, Instance
    from verify.backends.local_ops import LocalOps

    class SharedGuest:
        data_root = str(tmp_path)

        def path(self, guest_path):
            from pathlib import Path
            return Path(guest_path)

    backup = Backup("mariabackup", tmp_path / "b", id="b")
    inst = Instance("i", "n", "mariadb", "10.11", FLAVORS["small"], 1,
                    extra={"guest": SharedGuest()})
    assert LocalOps().place_backup(inst, backup).path == tmp_path / "b"
