"""ALTER SYSTEM BOOTSTRAP / ADD / DELETE / START / STOP SERVER, SET, and ALTER USER root."""
from __future__ import annotations

import hashlib
import sqlite3
import time

from obemu.config import format_addr
from obemu.errors import (OB_MACHINE_RESOURCE_NOT_ENOUGH, OB_SERVER_NOT_DELETING,
                          OB_SERVER_NOT_IN_WHITE_LIST, ob_error)
from obemu.faults import FaultSet, parse_faults, table_faults
from obemu.procs import proc_row
from obemu.sql import collation
from obemu.state import StateStore, now_text
from obemu.units import SYS_TENANT_ID, has_other_server, insert_unit, units_on_server
from obemu.zones import insert_zone, zone_status

BOOTSTRAP_REGION = "sys_region"
WHERE_SERVER = "WHERE SVR_IP = ? AND SVR_PORT = ?"


def _insert_server(conn: sqlite3.Connection, proc: dict, zone: str, bootstrap: bool,
                   epoch: float) -> None:
    server_id = conn.execute("SELECT COALESCE(MAX(ID), 0) + 1 FROM oceanbase.DBA_OB_SERVERS"
                             ).fetchone()[0]
    now = now_text(epoch)
    conn.execute(
        "INSERT INTO oceanbase.DBA_OB_SERVERS VALUES (?, ?, ?, ?, ?, ?, 'ACTIVE', ?, NULL, NULL,"
        " ?, ?, ?, NULL)",
        (proc["ip"], proc["rpc_port"], server_id, zone, proc["sql_port"],
         "YES" if bootstrap else "NO", now if bootstrap else None, now, now,
         proc["build_version"]))
    conn.execute("UPDATE oceanbase.emu_procs SET added_at = ? WHERE ip = ? AND rpc_port = ?",
                 (epoch, proc["ip"], proc["rpc_port"]))


def _target_faults(store: StateStore, proc: dict) -> FaultSet:
    rows = store.table_faults(proc["ip"], proc["rpc_port"])
    return FaultSet(parse_faults(proc["faults"] or "") + table_faults(rows))


def _empty_target(store: StateStore, ip: str, port: int) -> dict:
    """The target's emu_procs row; 4179 unless it is an empty server of this cluster."""
    proc = proc_row(store, ip, port)
    refused = (proc is None or store.is_member(ip, port) or bool(proc["nonempty"])
               or _target_faults(store, proc).has("refuse_add_server"))
    if refused:
        raise ob_error(4179, what=f"add non-empty server {format_addr(ip, port)}")
    return proc


def _check_zone_active(conn: sqlite3.Connection, zone: str) -> None:
    status = zone_status(conn, zone)
    if status is None:
        raise ob_error(4530, zone=zone)
    if status != "ACTIVE":
        raise ob_error(4655)


def add_servers(store: StateStore, addrs: list[tuple[str, int]], zone: str | None) -> None:
    """RootService's checks after reachability: emptiness, zone match, zone, duplicate."""
    with store.transaction() as conn:
        procs = [_empty_target(store, ip, port) for ip, port in addrs]
        if zone is not None and not all(collation.equal(proc["zone"], zone) for proc in procs):
            raise ob_error(4631)
        for proc in procs:
            _check_zone_active(conn, proc["zone"])
        epoch = time.time()
        for proc in procs:
            if store.is_member(proc["ip"], proc["rpc_port"]):
                raise ob_error(4017)
            _insert_server(conn, proc, proc["zone"], False, epoch)


def bootstrap(store: StateStore, groups: list[tuple[str | None, str, str, int]]) -> None:
    """Create the first zone(s) ACTIVE and their server(s) serving; 4017 the second time."""
    with store.transaction() as conn:
        if store.bootstrapped():
            raise ob_error(4017)
        epoch = time.time()
        for index, (region, zone, ip, port) in enumerate(groups):
            proc = proc_row(store, ip, port)
            if proc is None:
                raise ob_error(4179, what=f"bootstrap unknown server {format_addr(ip, port)}")
            if zone_status(conn, zone) is None:
                insert_zone(conn, zone, "ACTIVE", region or BOOTSTRAP_REGION)
                insert_unit(conn, SYS_TENANT_ID, zone, ip, port)  # the sys tenant's unit
            _insert_server(conn, proc, zone, index == 0, epoch)
        conn.execute("INSERT OR REPLACE INTO oceanbase.emu_meta VALUES ('bootstrapped', '1')")


def _server_status(conn: sqlite3.Connection, ip: str, port: int, zone: str | None) -> str:
    row = conn.execute(f"SELECT STATUS, ZONE FROM oceanbase.DBA_OB_SERVERS {WHERE_SERVER}",
                       (ip, port)).fetchone()
    if row is None:
        raise ob_error(OB_SERVER_NOT_IN_WHITE_LIST)
    if zone is not None and not collation.equal(row[1], zone):
        raise ob_error(4631)
    return row[0]


def _check_units_can_move(conn: sqlite3.Connection, addrs: list[tuple[str, int]]) -> None:
    """OceanBase's check_enough_resource_for_delete_server_ (ObServerZoneOpService, then
    ObUnitManager): a server's units need another server of their zone, one not being deleted,
    or DELETE SERVER is refused with OB_MACHINE_RESOURCE_NOT_ENOUGH (-4624). This is also what
    refuses the last server of a cluster: it holds the sys tenant's unit."""
    for ip, port in addrs:
        row_zone = conn.execute(f"SELECT ZONE FROM oceanbase.DBA_OB_SERVERS {WHERE_SERVER}",
                                (ip, port)).fetchone()[0]
        if units_on_server(conn, ip, port) and not has_other_server(conn, row_zone, ip, port,
                                                                     addrs):
            raise ob_error(OB_MACHINE_RESOURCE_NOT_ENOUGH, what=row_zone)


def delete_servers(store: StateStore, addrs: list[tuple[str, int]], zone: str | None) -> None:
    """Mark servers DELETING; the liveness refresh removes them after the delete delay.

    Checks in RootService's order (ObServerZoneOpService::delete_servers): the server is listed
    (OB_SERVER_NOT_IN_WHITE_LIST -4630) in that zone (OB_SERVER_ZONE_NOT_MATCH -4631), its units
    can move (-4624), and it is not DELETING already (OB_SERVER_ALREADY_DELETED -4628)."""
    with store.transaction() as conn:
        statuses = [_server_status(conn, ip, port, zone) for ip, port in addrs]
        _check_units_can_move(conn, addrs)
        if "DELETING" in statuses:
            raise ob_error(4628)
        for ip, port in addrs:
            conn.execute("UPDATE oceanbase.DBA_OB_SERVERS SET STATUS = 'DELETING',"
                         f" MODIFY_TIME = ? {WHERE_SERVER}", (now_text(), ip, port))


def cancel_delete_servers(store: StateStore, addrs: list[tuple[str, int]],
                          zone: str | None) -> None:
    """DELETING -> ACTIVE; a server that is not DELETING is refused with OB_SERVER_NOT_DELETING
    (-4629), as ObServerZoneOpService::check_and_end_delete_server_ does."""
    with store.transaction() as conn:
        for ip, port in addrs:
            if _server_status(conn, ip, port, zone) != "DELETING":
                raise ob_error(OB_SERVER_NOT_DELETING)
        for ip, port in addrs:
            conn.execute("UPDATE oceanbase.DBA_OB_SERVERS SET STATUS = 'ACTIVE',"
                         f" MODIFY_TIME = ? {WHERE_SERVER}", (now_text(), ip, port))


def set_stop_time(store: StateStore, addrs: list[tuple[str, int]], zone: str | None,
                  stop: bool) -> None:
    """STOP SERVER sets STOP_TIME (STATUS stays ACTIVE); START SERVER clears it."""
    with store.transaction() as conn:
        for ip, port in addrs:
            _server_status(conn, ip, port, zone)
        value = now_text() if stop else None
        for ip, port in addrs:
            conn.execute("UPDATE oceanbase.DBA_OB_SERVERS SET STOP_TIME = ?, MODIFY_TIME = ?"
                         f" {WHERE_SERVER}", (value, now_text(), ip, port))


def set_parameters(store: StateStore, params: list[tuple[str, str]],
                   scope: tuple[str, str] | None) -> None:
    """Update known parameters' rows (optionally one zone or server); 5099 for unknown names."""
    where, args = "", ()
    if scope and scope[0] == "ZONE":
        where, args = " AND ZONE = ?", (scope[1],)
    elif scope and scope[0] == "SERVER":
        ip, _, port = scope[1].rpartition(":")
        where, args = " AND SVR_IP = ? AND SVR_PORT = ?", (ip.strip("[]"), int(port or 0))
    with store.transaction() as conn:
        for name, _ in params:
            if conn.execute('SELECT 1 FROM oceanbase."GV$OB_PARAMETERS" WHERE NAME = ?',
                            (name,)).fetchone() is None:
                raise ob_error(5099)
        for name, value in params:
            conn.execute('UPDATE oceanbase."GV$OB_PARAMETERS" SET VALUE = ?, ISDEFAULT ='
                         " CASE WHEN DEFAULT_VALUE = ? THEN 'YES' ELSE 'NO' END"
                         f" WHERE NAME = ?{where}", (value, value, name) + args)


def native_auth_string(password: str) -> str:
    """mysql_native_password's stored form, SHA1(SHA1(password)) in hex; '' for no password."""
    if not password:
        return ""
    return hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest()


def set_root_password(store: StateStore, password: str) -> None:
    """ALTER USER root IDENTIFIED BY: only the hash reaches the state file."""
    store.set_meta("root_auth", native_auth_string(password))
