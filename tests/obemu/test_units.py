"""Pure functions: the ALTER grammar, -o parsing, fault syntax, user names, liveness rules."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from obemu.args import parse, parse_optstr
from obemu.auth import user_allowed
from obemu.errors import ObError
from obemu.faults import Fault, parse_fault, parse_faults
from obemu.grammar import mask_secrets, normalize, parse_alter, unquote


@pytest.mark.parametrize("sql, action, zone, addrs", [
    ("ALTER SYSTEM ADD SERVER '1.2.3.4:2882' ZONE 'z1'", "add_server", "z1", [("1.2.3.4", 2882)]),
    ("alter system add server '1.2.3.4:2882', '1.2.3.5:2882' zone=z1", "add_server", "z1",
     [("1.2.3.4", 2882), ("1.2.3.5", 2882)]),
    ("ALTER SYSTEM ADD SERVER '[::1]:2882'", "add_server", None, [("::1", 2882)]),
    ("ALTER SYSTEM DELETE SERVER '1.2.3.4:2882' ZONE 'z'", "delete_server", "z",
     [("1.2.3.4", 2882)]),
    ("ALTER SYSTEM CANCEL DELETE SERVER '1.2.3.4:2882'", "cancel_delete_server", None,
     [("1.2.3.4", 2882)]),
    ("ALTER SYSTEM FORCE STOP SERVER '1.2.3.4:2882'", "stop_server", None, [("1.2.3.4", 2882)]),
    ("ALTER SYSTEM START ZONE `z 2`", "start_zone", "z 2", []),
    ("ALTER SYSTEM STOP ZONE 'z'", "stop_zone", "z", []),
])
def test_server_and_zone_statements(sql, action, zone, addrs):
    command = parse_alter(normalize(sql + " ; "))
    assert (command.action, command.zone, command.addrs) == (action, zone, addrs)


def test_bootstrap_with_several_zones():
    command = parse_alter("ALTER SYSTEM BOOTSTRAP REGION 'r' ZONE 'z1' SERVER '1.1.1.1:2882', "
                          "ZONE = 'z2' SERVER = '1.1.1.2:2882'")
    assert command.groups == [("r", "z1", "1.1.1.1", 2882), (None, "z2", "1.1.1.2", 2882)]


def test_set_with_scope_and_user():
    command = parse_alter("ALTER SYSTEM SET memory_limit = '6G', cpu_count=4 SERVER='1.1.1.1:2882'")
    assert command.params == [("memory_limit", "6G"), ("cpu_count", "4")]
    assert command.scope == ("SERVER", "1.1.1.1:2882")
    assert parse_alter(r"ALTER USER 'root'@'%' IDENTIFIED BY 'it\'s'").password == "it's"


@pytest.mark.parametrize("sql", ["ALTER SYSTEM ADD SERVER '1.2.3.4'", "ALTER USER bob IDENTIFIED "
                                 "BY 'x'", "ALTER SYSTEM BOOTSTRAP ZONE 'z'", "ALTER TABLE t"])
def test_unparseable_alter_is_1064(sql):
    with pytest.raises(ObError) as caught:
        parse_alter(sql)
    assert caught.value.code == 1064


@settings(max_examples=60)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_unquote_inverts_mysql_escaping(value):
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    assert unquote(f"'{escaped}'") == value
    if "\\" not in value:
        assert unquote("'" + value.replace("'", "''") + "'") == value


def test_mask_secrets():
    assert mask_secrets("ALTER USER root IDENTIFIED BY 'p''w'") == (
        "ALTER USER root IDENTIFIED BY '***'")


@settings(max_examples=40)
@given(st.dictionaries(st.text("abz_019", min_size=1, max_size=10).filter(
    lambda key: not key[0].isdigit()), st.text("aZ09.-", max_size=8), min_size=1))
def test_optstr_round_trip(params):
    assert parse_optstr(",".join(f"{k}={v}" for k, v in params.items())) == params


def test_args_record_what_was_given():
    options = parse(["-p", "2881", "--zone", "z", "-6", "-I", "::1", "-o", "a=1"])
    assert options.given == {"mysql_port", "zone", "ipv6", "local_ip", "optstr"}
    assert options.optstr == {"a": "1"}


def test_fault_syntax():
    assert parse_fault("sql_error:^A:B:4012") == Fault("sql_error", "^A:B", 4012)
    assert parse_fault("hang:x:1.5") == Fault("hang", "x", 1.5)
    assert parse_fault("slow_start:3") == Fault("slow_start", None, 3)
    assert [f.kind for f in parse_faults("deny_login; never_active;bogus;;")] == [
        "deny_login", "never_active"]
    with pytest.raises(ValueError):
        parse_fault("sql_error:nocode")


@pytest.mark.parametrize("user, allowed", [
    ("root", True), ("root@sys", True), ("root@sys#c", True), ("c:sys:root", True),
    ("root@sys#d", False), ("d:sys:root", False), ("root@mysql", False), ("", False),
    ("c:mysql:root", False)])
def test_user_forms(user, allowed):
    assert user_allowed(user, "c") is allowed
