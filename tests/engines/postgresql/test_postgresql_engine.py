"""PostgreSQL engine logic that needs no server: identity parsing, WAL
positions, the globals filter, configuration rules."""

import pytest

from verify.engines.capabilities import ConfigurationRejected, validate_configuration
from verify.engines.postgresql import backup as backup_ops
from verify.engines.postgresql import client as pgc
from verify.engines.postgresql import ops
from verify.engines.postgresql import server as pg


def test_identity_from_debian_postgresql():
    ident = pgc.identity_from("15.18 (Debian 15.18-0+deb12u1)",
                             "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu")
    assert (ident.name, ident.version, ident.distribution) == \
        ("postgresql", "15.18", "Debian 15.18-0+deb12u1")


def test_identity_of_something_else_is_not_postgresql():
    ident = pgc.identity_from("13.0", "CockroachDB CCL v23.1 (x86_64-pc-linux-gnu)")
    assert ident.name == "cockroachdb"
    assert pgc.identity_from("16beta1", "PostgreSQL 16beta1").version == "16"


def test_bin_dir_follows_the_major_version():
    assert pg.bin_dir("15") == "/usr/lib/postgresql/15/bin"
    assert pg.bin_dir("17.2") == "/usr/lib/postgresql/17/bin"


@pytest.mark.parametrize("lower,higher", [
    ("0/5000060", "0/5000100"),
    ("0/FFFFFFFF", "1/0"),
    ("0/9000000", "0/10000000"),      # text order alone would get this one wrong
])
def test_wal_positions_sort_as_text(lower, higher):
    assert ops.sortable_lsn(lower) < ops.sortable_lsn(higher)


def test_globals_keep_users_but_never_the_internal_roles():
    dumped = "\n".join([
        "CREATE ROLE os_admin;",
        "ALTER ROLE os_admin WITH SUPERUSER LOGIN PASSWORD 'SCRAM-SHA-256$x';",
        "CREATE ROLE replicator;",
        "ALTER ROLE replicator WITH REPLICATION LOGIN PASSWORD 'SCRAM-SHA-256$y';",
        "CREATE ROLE app;",
        "ALTER ROLE app WITH LOGIN PASSWORD 'SCRAM-SHA-256$z';",
        "GRANT pg_read_all_data TO app GRANTED BY os_admin;",
    ])
    kept = backup_ops._without_internal_roles(dumped)
    assert "ROLE os_admin" not in kept and "ROLE replicator" not in kept
    assert "CREATE ROLE app;" in kept and "GRANTED BY os_admin" in kept


def test_backup_label_field():
    label = ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
             "CHECKPOINT LOCATION: 0/2000060\n")
    assert backup_ops._label_field(label, "START WAL LOCATION").startswith("0/2000028")
    assert backup_ops._label_field(label, "NOPE") == ""


def test_config_rules_have_dynamic_and_restart_examples():
    rules = ops.CONFIG_RULES
    assert any(r.example is not None and r.dynamic for r in rules.values())
    assert any(r.example is not None and not r.dynamic for r in rules.values())
    for rule in rules.values():
        if rule.example is not None:
            validate_configuration(rules, {rule.name: rule.example})


@pytest.mark.parametrize("values", [{"work_mem": 1}, {"max_connections": "many"},
                                    {"autovacuum": "maybe"}, {"no_such_thing": 1}])
def test_bad_values_are_refused(values):
    with pytest.raises(ConfigurationRejected) as err:
        validate_configuration(ops.CONFIG_RULES, values, engine="PostgreSQL")
    assert next(iter(values)) in str(err.value)
