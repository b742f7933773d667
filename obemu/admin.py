"""What the `obemu` admin CLI reads and writes in a state file (no CLI parsing here)."""
from __future__ import annotations

import time
from pathlib import Path

from obemu.faults import parse_fault
from obemu.liveness import refresh
from obemu.procutil import pid_alive
from obemu.state import StateStore
from obemu.units import insert_unit

SECTIONS = {
    "servers": "SELECT * FROM oceanbase.DBA_OB_SERVERS ORDER BY ID",
    "zones": "SELECT * FROM oceanbase.DBA_OB_ZONES ORDER BY ZONE",
    "processes": "SELECT ip, rpc_port, sql_port, zone, cluster, cluster_id, pid, heartbeat,"
                 " added_at, faults, home FROM oceanbase.emu_procs ORDER BY ip, rpc_port",
    "faults": "SELECT id, svr_ip, svr_port, kind, arg FROM oceanbase.emu_faults ORDER BY id",
    "units": "SELECT UNIT_ID, TENANT_ID, ZONE, SVR_IP, SVR_PORT FROM oceanbase.DBA_OB_UNITS"
             " ORDER BY UNIT_ID",
    "statements": "SELECT id, time, node, sql, code, message FROM oceanbase.emu_statements"
                  " ORDER BY id",
}


def _dicts(store: StateStore, sql: str) -> list[dict]:
    cursor = store.conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def status(path: Path) -> dict:
    """Servers (liveness refreshed first), zones, processes, faults and ALTER statements."""
    store = StateStore(path)
    try:
        refresh(store, *store.recorded_knobs())
        result = {"state": str(path), "bootstrapped": store.bootstrapped()}
        for name, sql in SECTIONS.items():
            result[name] = _dicts(store, sql)
    finally:
        store.close()
    now = time.time()
    for proc in result["processes"]:
        proc["alive"] = bool(proc["pid"]) and pid_alive(proc["pid"])
        beat = proc.pop("heartbeat")
        proc["heartbeat_age_s"] = None if beat is None else round(now - beat, 3)
    return result


def split_server(server: str) -> tuple[str, str]:
    """`ip:port`, `[ip6]:port`, `ip` or `*` -> (ip, port) with `*` for what is missing."""
    if server in ("", "*"):
        return "*", "*"
    if server.startswith("["):
        ip, _, port = server[1:].partition("]:")
        return ip, port or "*"
    ip, sep, port = server.rpartition(":")
    return (ip, port) if sep and (port.isdigit() or port == "*") else (server, "*")


def add_fault(path: Path, server: str, fault: str) -> int:
    """Insert an emu_faults row; ValueError for a malformed fault. Returns the row id."""
    parse_fault(fault)
    kind, _, arg = fault.strip().partition(":")
    ip, port = split_server(server)
    store = StateStore(path)
    try:
        with store.transaction() as conn:
            cursor = conn.execute("INSERT INTO oceanbase.emu_faults (svr_ip, svr_port, kind, arg)"
                                  " VALUES (?, ?, ?, ?)", (ip, port, kind.strip(), arg))
            return int(cursor.lastrowid or 0)
    finally:
        store.close()


def clear_faults(path: Path, server: str | None, kind: str | None) -> int:
    """Delete emu_faults rows (all, or those of one server and/or kind); returns the count."""
    where, params = ["1 = 1"], []
    if server:
        ip, port = split_server(server)
        where.append("svr_ip = ? AND svr_port = ?")
        params += [ip, port]
    if kind:
        where.append("kind = ?")
        params.append(kind)
    store = StateStore(path)
    try:
        with store.transaction() as conn:
            cursor = conn.execute(f"DELETE FROM oceanbase.emu_faults WHERE {' AND '.join(where)}",
                                  params)
            return cursor.rowcount
    finally:
        store.close()


def live_processes(path: Path) -> list[dict]:
    """Registered processes whose pid still runs."""
    store = StateStore(path)
    try:
        rows = _dicts(store, "SELECT ip, rpc_port, pid FROM oceanbase.emu_procs"
                             " WHERE pid IS NOT NULL")
    finally:
        store.close()
    return [row for row in rows if pid_alive(row["pid"])]


def remove_state(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sql_port_of(path: Path, ip: str, rpc_port: int) -> int | None:
    """The MySQL port a registered node listens on."""
    store = StateStore(path)
    try:
        return store.value("SELECT sql_port FROM oceanbase.emu_procs WHERE ip = ? AND"
                           " rpc_port = ?", (ip, rpc_port))
    finally:
        store.close()


def add_unit(path: Path, zone: str, tenant_id: int = 1001) -> int:
    """A unit of `tenant_id` in `zone`, on the zone's first server not being deleted (none when
    the zone has no server); ValueError for a zone that does not exist. Returns its UNIT_ID."""
    store = StateStore(path)
    try:
        with store.transaction() as conn:
            if conn.execute("SELECT 1 FROM oceanbase.DBA_OB_ZONES WHERE ZONE = ?",
                            (zone,)).fetchone() is None:
                raise ValueError(f"zone {zone} does not exist")
            server = conn.execute("SELECT SVR_IP, SVR_PORT FROM oceanbase.DBA_OB_SERVERS WHERE"
                                  " ZONE = ? AND STATUS <> 'DELETING' ORDER BY ID LIMIT 1",
                                  (zone,)).fetchone() or (None, None)
            return insert_unit(conn, tenant_id, zone, *server)
    finally:
        store.close()


def remove_units(path: Path, zone: str | None = None, tenant_id: int | None = None) -> int:
    """Delete units (of one zone and/or tenant; the sys tenant's only when asked by tenant 1)."""
    where, params = ["TENANT_ID <> 1"] if tenant_id is None else ["TENANT_ID = ?"], []
    if tenant_id is not None:
        params.append(tenant_id)
    if zone:
        where.append("ZONE = ?")
        params.append(zone)
    store = StateStore(path)
    try:
        with store.transaction() as conn:
            return conn.execute(f"DELETE FROM oceanbase.DBA_OB_UNITS WHERE {' AND '.join(where)}",
                                params).rowcount
    finally:
        store.close()
