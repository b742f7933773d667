"""SHOW PARAMETERS, V$OB_PARAMETERS and GV$OB_PARAMETERS for the names seekdb and obemu share.

seekdb is the single-node edition: its views have no SVR_IP/SVR_PORT/ZONE columns (there is
one server) and it has no GV$ views at all. Those differences are expected per target below.
"""
from __future__ import annotations

import pymysql

from tests.conformance.expect import mysql_error, per_target, rows
from tests.conformance.targets import OBEMU_RPC_PORT, OBEMU_ZONE

COMMON_PARAMETERS = {"mysql_port": "INT", "rpc_port": "INT", "data_dir": "STRING",
                     "syslog_level": "STRING", "memory_limit": "CAPACITY",
                     "datafile_size": "CAPACITY", "log_disk_size": "CAPACITY"}
V_COLUMNS = {"SCOPE", "NAME", "DATA_TYPE", "VALUE", "INFO", "SECTION", "EDIT_LEVEL",
             "DEFAULT_VALUE", "ISDEFAULT"}
SERVER_COLUMNS = {"SVR_IP", "SVR_PORT", "ZONE"}
# A cluster has many tenants; the single-node edition has one and drops the column.
TENANT_COLUMNS = {"TENANT_ID"}
SHOW_COLUMNS = {"svr_type", "name", "data_type", "value", "info", "section", "scope",
                "source", "edit_level", "default_value", "isdefault"}
SEEKDB_RPC_PORT = 2882  # seekdb is started with --port 2881 only; rpc_port is its default


def dict_rows(conn, sql: str, args=None) -> list[dict]:
    with conn.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def names_in() -> str:
    return ", ".join(f"'{name}'" for name in sorted(COMMON_PARAMETERS))


def test_v_ob_parameters_has_the_common_names_and_types(target, ocs):
    conn = ocs.connect()
    found = dict_rows(conn, "SELECT NAME, DATA_TYPE, VALUE FROM oceanbase.V$OB_PARAMETERS "
                            f"WHERE NAME IN ({names_in()})")
    assert {row["NAME"]: row["DATA_TYPE"] for row in found} == COMMON_PARAMETERS
    values = {row["NAME"]: row["VALUE"] for row in found}
    assert values["mysql_port"] == str(target.server(0)[1])
    assert values["rpc_port"] == str(per_target(target, seekdb=SEEKDB_RPC_PORT,
                                                obemu=OBEMU_RPC_PORT))
    assert all(values[name] for name in COMMON_PARAMETERS)


def test_v_ob_parameters_describes_the_connected_server(target, ocs):
    for observer in (0, 1):
        conn = ocs.connect(observer)
        (row,) = dict_rows(conn, "SELECT * FROM oceanbase.V$OB_PARAMETERS "
                                 "WHERE NAME = 'mysql_port'")
        # Single node: seekdb's V$ view names no server and no tenant; a cluster's names the
        # server asked and the tenant of each parameter (NULL for cluster parameters).
        assert set(row) == per_target(target, seekdb=V_COLUMNS,
                                      obemu=V_COLUMNS | SERVER_COLUMNS | TENANT_COLUMNS)
        if SERVER_COLUMNS <= set(row):
            assert (row["SVR_IP"], row["ZONE"]) == (target.server(observer)[0], OBEMU_ZONE)


def test_gv_ob_parameters_has_a_row_per_server(target, ocs):
    conn = ocs.connect()
    query = "SELECT SVR_IP, VALUE FROM oceanbase.GV$OB_PARAMETERS WHERE NAME = 'mysql_port'"
    if target.name == "seekdb":
        # The single-node edition has no GV$ views.
        with mysql_error(1146, "Table 'oceanbase.gv$ob_parameters' doesn't exist"):
            rows(conn, query)
        return
    expected = sorted((ip, str(port)) for ip, port in target.servers)
    assert sorted(rows(conn, query)) == expected


def test_show_parameters_like(target, ocs):
    conn = ocs.connect()
    found = dict_rows(conn, "SHOW PARAMETERS LIKE 'mysql%'")
    assert {row["name"] for row in found} == {"mysql_port"}
    # One row per server; a cluster's rows also carry zone, svr_ip and svr_port in front.
    assert len(found) == len(target.servers)
    assert set(found[0]) == per_target(target, seekdb=SHOW_COLUMNS,
                                       obemu=SHOW_COLUMNS | {"zone", "svr_ip", "svr_port"})
    assert {row["value"] for row in found} == {str(target.server(0)[1])}
    assert found[0]["data_type"] == "INT"
