"""§6: statement routing, the error matrix of §6.1, and SQL over the cluster views."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.obemu.conftest import ROOT_PASSWORD
from tests.obemu.helpers import code_of, error_of, execute, rows


def test_alter_system_error_matrix(conn, node, spare):
    """Every row of §6.1, in the order a scale-out would meet them."""
    other = spare("127.0.1.101", zone="zone2")
    wrong_zone = spare("127.0.1.102", zone="zone9")
    assert code_of(conn, "ALTER SYSTEM ADD ZONE 'zone1'") == 4017
    assert code_of(conn, f"ALTER SYSTEM BOOTSTRAP ZONE 'zone1' SERVER '{node.addr}'") == 4017
    assert code_of(conn, "ALTER SYSTEM ADD SERVER '127.0.1.103:2882' ZONE 'zone2'") == 4265
    assert code_of(conn, f"ALTER SYSTEM ADD SERVER '{node.addr}' ZONE 'zone1'") == 4179
    assert code_of(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone1'") == 4631
    assert code_of(conn, f"ALTER SYSTEM ADD SERVER '{wrong_zone.addr}'") == 4530
    execute(conn, "ALTER SYSTEM ADD ZONE 'zone2' REGION 'r2'")
    assert code_of(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone2'") == 4655
    assert code_of(conn, "ALTER SYSTEM START ZONE 'zone1'") == 4633
    assert code_of(conn, "ALTER SYSTEM DELETE ZONE 'zone1'") == 4633
    assert code_of(conn, "ALTER SYSTEM STOP ZONE 'zone1'") == 4179
    assert code_of(conn, "ALTER SYSTEM STOP ZONE 'zone2'") is None
    execute(conn, "ALTER SYSTEM START ZONE zone2")
    execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone2'")
    execute(conn, "ALTER SYSTEM STOP ZONE zone2")
    assert code_of(conn, "ALTER SYSTEM DELETE ZONE 'zone2'") == 4668


@pytest.mark.parametrize("verb", ["START", "STOP", "DELETE"])
def test_zone_verbs_on_missing_zone(conn, verb):
    error = error_of(conn, f"ALTER SYSTEM {verb} ZONE 'nozone'")
    assert error == (4530, "Zone info 'nozone' not exist")


def test_rootservice_check_order_emptiness_before_zone(conn, node):
    """A member with a wrong ZONE still gets 4179: emptiness comes before zone match."""
    assert code_of(conn, f"ALTER SYSTEM ADD SERVER '{node.addr}' ZONE 'zone7'") == 4179


def test_zone_life_cycle_and_grammar_variants(conn):
    execute(conn, "alter system add zone z3 region = 'r3' , idc 'i3', zone_type = ReadOnly;")
    assert rows(conn, "SELECT STATUS, REGION, IDC, TYPE FROM oceanbase.DBA_OB_ZONES "
                      "WHERE ZONE = 'z3'") == [("INACTIVE", "r3", "i3", "ReadOnly")]
    execute(conn, 'ALTER SYSTEM START ZONE "z3"')
    assert rows(conn, "SELECT STATUS FROM oceanbase.DBA_OB_ZONES WHERE ZONE = 'z3'") == [
        ("ACTIVE",)]
    execute(conn, "ALTER SYSTEM STOP ZONE `z3`")
    execute(conn, "ALTER SYSTEM STOP ZONE z3")
    execute(conn, "ALTER SYSTEM DELETE ZONE 'z3'")
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_ZONES WHERE ZONE = 'z3'") == [(0,)]
    execute(conn, "ALTER SYSTEM ADD ZONE z4")
    assert rows(conn, "SELECT REGION, TYPE FROM oceanbase.DBA_OB_ZONES WHERE ZONE = 'z4'") == [
        ("default_region", "ReadWrite")]


def test_add_server_without_zone_uses_the_nodes_own_zone(conn, spare):
    other = spare("127.0.1.104", zone="zone1")
    execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}';")
    assert rows(conn, "SELECT ZONE, STATUS, WITH_ROOTSERVER, SQL_PORT FROM "
                      "oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s", (other.ip,)) == [
        ("zone1", "ACTIVE", "NO", other.mysql_port)]


def test_alter_system_set(conn, node):
    execute(conn, "ALTER SYSTEM SET syslog_level = 'INFO', enable_rebalance = False")
    assert rows(conn, "SELECT NAME, VALUE FROM oceanbase.GV$OB_PARAMETERS WHERE NAME IN "
                      "('syslog_level', 'enable_rebalance') ORDER BY NAME") == [
        ("enable_rebalance", "False"), ("syslog_level", "INFO")]
    assert error_of(conn, "ALTER SYSTEM SET no_such_parameter = 1") == (
        5099, "System config unknown")


@pytest.mark.parametrize("sql", ["ALTER SYSTEM DO SOMETHING", "SELEC 1", "SHOW PARAMETERS ZZ",
                                 "CREATE TABLE"])
def test_malformed_statements_are_parse_errors(conn, sql):
    code, message = error_of(conn, sql)
    assert code == 1064
    assert message.startswith("You have an error in your SQL syntax; check the manual that "
                              "corresponds to your OceanBase version")
    assert f"near '{sql[:20]}" in message


@pytest.mark.parametrize("sql, command, table", [
    ("INSERT INTO oceanbase.DBA_OB_ZONES VALUES ('x')", "INSERT", "DBA_OB_ZONES"),
    ("DELETE FROM oceanbase.DBA_OB_SERVERS", "DELETE", "DBA_OB_SERVERS"),
    ("UPDATE oceanbase.DBA_OB_ZONES SET STATUS = 'ACTIVE'", "UPDATE", "DBA_OB_ZONES"),
])
def test_the_views_are_not_updatable(conn, sql, command, table):
    assert error_of(conn, sql) == (
        1288, f"The target table {table} of the {command} is not updatable")


def test_a_table_needs_a_database(conn):
    assert error_of(conn, "CREATE TABLE t (a int)") == (1046, "No database selected")


def test_unknown_table_and_column(conn):
    assert error_of(conn, "SELECT * FROM oceanbase.DBA_OB_NOTHING") == (
        1146, "Table 'oceanbase.DBA_OB_NOTHING' doesn't exist")
    assert code_of(conn, "SELECT NO_SUCH FROM oceanbase.DBA_OB_SERVERS") == 1054


def test_where_order_by_and_count_on_both_views(conn, spare):
    for index, zone in enumerate(["zone2", "zone3"]):
        execute(conn, f"ALTER SYSTEM ADD ZONE '{zone}'")
        execute(conn, f"ALTER SYSTEM START ZONE '{zone}'")
        other = spare(f"127.0.1.11{index}", zone=zone)
        execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE '{zone}'")
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS") == [(3,)]
    assert rows(conn, "SELECT ZONE FROM oceanbase.DBA_OB_SERVERS WHERE ZONE <> 'zone1' "
                      "ORDER BY ZONE DESC") == [("zone3",), ("zone2",)]
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_ZONES WHERE STATUS = 'ACTIVE'") == [
        (3,)]
    assert rows(conn, "SELECT ZONE FROM oceanbase.DBA_OB_ZONES ORDER BY ZONE LIMIT 2") == [
        ("zone1",), ("zone2",)]
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS WHERE STOP_TIME IS NULL "
                      "AND BLOCK_MIGRATE_IN_TIME IS NULL") == [(3,)]


def test_parameters_v_differs_per_node_gv_is_shared(node, spare, conn):
    other = spare("127.0.1.105", zone="zone5", params={"memory_limit": "6G"})
    other_conn = other.connect()
    try:
        own = "SELECT SVR_IP, SVR_PORT, ZONE, VALUE FROM oceanbase.V$OB_PARAMETERS " \
              "WHERE NAME = 'memory_limit'"
        assert rows(conn, own) == [(node.ip, node.rpc_port, "zone1", "0M")]
        assert rows(other_conn, own) == [(other.ip, other.rpc_port, "zone5", "6G")]
        every = "SELECT SVR_IP, VALUE FROM oceanbase.GV$OB_PARAMETERS WHERE NAME = " \
                "'memory_limit' ORDER BY SVR_IP"
        assert rows(conn, every) == rows(other_conn, every) == [(node.ip, "0M"),
                                                               (other.ip, "6G")]
    finally:
        other_conn.close()


def test_time_columns_arrive_as_datetime(conn, node):
    (created, started, stopped), = rows(
        conn, "SELECT CREATE_TIME, START_SERVICE_TIME, STOP_TIME FROM oceanbase.DBA_OB_SERVERS")
    assert isinstance(created, datetime) and isinstance(started, datetime)
    assert stopped is None
    (zone_created,), = rows(conn, "SELECT CREATE_TIME FROM oceanbase.DBA_OB_ZONES")
    assert isinstance(zone_created, datetime)


def test_version_functions_and_variables(conn):
    assert rows(conn, "SELECT version()") == [("5.7.25-OceanBase_CE-v4.2.1.2",)]
    assert rows(conn, "SELECT ob_version()") == [("4.2.1.2",)]
    with conn.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.description[0][0] == "version()"
    (comment,), = rows(conn, "SELECT @@version_comment")
    assert comment.startswith("OceanBase_CE 4.2.1.2 (r")
    assert rows(conn, "SELECT 1") == [(1,)]
    assert rows(conn, "SELECT 1 FROM DUAL") == [(1,)]
    assert ("version", "5.7.25-OceanBase_CE-v4.2.1.2") in rows(conn, "SHOW VARIABLES")
    assert conn.get_server_info() == "5.7.25"  # the handshake carries MySQL's version only


def test_set_statements(conn):
    execute(conn, "SET ob_query_timeout = 123000000")
    execute(conn, "SET SESSION ob_trx_timeout = 5000000")
    execute(conn, "SET @@ob_trx_idle_timeout = 7000000")
    execute(conn, "SET NAMES utf8mb4")
    execute(conn, "SET autocommit = 1")
    assert rows(conn, "SELECT @@ob_query_timeout, @@ob_trx_timeout, @@ob_trx_idle_timeout") == [
        (123000000, 5000000, 7000000)]


def test_alter_user_changes_the_password_and_is_masked(conn, node):
    execute(conn, "ALTER USER root IDENTIFIED BY 'n3w'")
    node.connect(password="n3w").close()
    recorded = rows(conn, "SELECT sql FROM oceanbase.emu_statements WHERE sql LIKE 'ALTER USER%'")
    assert recorded and all("'***'" in sql and "n3w" not in sql for (sql,) in recorded)
    assert ROOT_PASSWORD not in str(recorded)


def test_statements_are_recorded_with_node_and_code(conn, node):
    code_of(conn, "ALTER SYSTEM ADD ZONE 'zone1'")
    execute(conn, "ALTER SYSTEM ADD ZONE 'zone6'")
    recorded = rows(conn, "SELECT node, sql, code FROM oceanbase.emu_statements "
                          "WHERE sql LIKE 'ALTER SYSTEM ADD ZONE%' ORDER BY id")
    assert recorded == [(node.addr, "ALTER SYSTEM ADD ZONE 'zone1'", 4017),
                        (node.addr, "ALTER SYSTEM ADD ZONE 'zone6'", 0)]


def test_obemu_version_changes_every_version_string(fleet):
    node = fleet.observer("127.0.1.106", cluster="v", env={"OBEMU_VERSION": "4.3.0.1"})
    conn = node.connect()
    try:
        assert rows(conn, "SELECT ob_version(), version()") == [
            ("4.3.0.1", "5.7.25-OceanBase_CE-v4.3.0.1")]
        execute(conn, f"ALTER SYSTEM BOOTSTRAP ZONE 'zone1' SERVER '{node.addr}'")
        (build,), = rows(conn, "SELECT BUILD_VERSION FROM oceanbase.DBA_OB_SERVERS")
        assert build.startswith("4.3.0.1_")
    finally:
        conn.close()
