"""Lazy liveness refresh (§7): derive server STATUS and serving from heartbeats and leases."""
from __future__ import annotations

import time
from dataclasses import dataclass

from obemu.constants import HEARTBEAT_INTERVAL_S
from obemu.faults import FaultSet, parse_faults, table_faults
from obemu.state import StateStore, now_text, parse_time
from obemu.units import migrate_off

# `stranded`: a unit on the server with no other server of its zone to move to; OceanBase does
# not finish deleting such a server (its units must migrate first), so it stays DELETING.
READ_SQL = (
    "SELECT s.SVR_IP, s.SVR_PORT, s.STATUS, s.START_SERVICE_TIME IS NOT NULL, s.MODIFY_TIME,"
    " p.heartbeat, p.added_at, p.faults, EXISTS (SELECT 1 FROM oceanbase.DBA_OB_UNITS u"
    " WHERE u.SVR_IP = s.SVR_IP AND u.SVR_PORT = s.SVR_PORT AND NOT EXISTS (SELECT 1 FROM"
    " oceanbase.DBA_OB_SERVERS o WHERE o.ZONE = u.ZONE AND o.STATUS <> 'DELETING'"
    " AND NOT (o.SVR_IP = s.SVR_IP AND o.SVR_PORT = s.SVR_PORT)))"
    " FROM oceanbase.DBA_OB_SERVERS s"
    " LEFT JOIN oceanbase.emu_procs p ON p.ip = s.SVR_IP AND p.rpc_port = s.SVR_PORT")


@dataclass
class ServerLiveness:
    ip: str
    port: int
    status: str
    serving: bool
    modify_time: str | None
    heartbeat: float | None
    added_at: float | None
    faults: str | None
    stranded: bool = False


def _fault_number(store: StateStore, row: ServerLiveness, kind: str) -> float | None:
    faults = parse_faults(row.faults or "") + table_faults(store.table_faults(row.ip, row.port))
    fault = FaultSet(faults).first(kind)
    return fault.number if fault else None


def _slow_start(store: StateStore, row: ServerLiveness) -> float:
    return _fault_number(store, row, "slow_start") or 0.0


def _decide(store: StateStore, row: ServerLiveness, now: float, lease: float,
            delete_delay: float) -> str | None:
    """The change one row needs: delete, inactive, reactivate, serve, or None."""
    if row.status == "DELETING":
        since = parse_time(row.modify_time) or 0.0
        # slow_delete:N: this server stays DELETING N s (its replicas take long to move)
        delay = _fault_number(store, row, "slow_delete")
        wanted = delete_delay if delay is None else delay
        return "delete" if now - since >= wanted and not row.stranded else None
    beat, added = row.heartbeat, row.added_at or 0.0
    if row.status == "INACTIVE":
        return "reactivate" if beat is not None and now - beat < lease else None
    if now - max(beat or 0.0, added) >= lease:
        return "inactive"
    if row.serving or beat is None or beat < added + HEARTBEAT_INTERVAL_S:
        return None  # stays ACTIVE and not serving for at least one heartbeat after the add
    return "serve" if now >= added + _slow_start(store, row) else None


def plan(store: StateStore, now: float, lease: float, delete_delay: float) -> list[tuple]:
    """[(change, ip, port)] for every server row whose state must move."""
    changes = []
    for values in store.rows(READ_SQL):
        row = ServerLiveness(*values)
        change = _decide(store, row, now, lease, delete_delay)
        if change:
            changes.append((change, row.ip, row.port))
    return changes


UPDATES = {
    "delete": ["DELETE FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = :ip AND SVR_PORT = :port",
               "UPDATE oceanbase.emu_procs SET added_at = NULL WHERE ip = :ip AND rpc_port = :port"],
    "inactive": ["UPDATE oceanbase.DBA_OB_SERVERS SET STATUS = 'INACTIVE',"
                 " START_SERVICE_TIME = NULL, LAST_OFFLINE_TIME = :now, MODIFY_TIME = :now"
                 " WHERE SVR_IP = :ip AND SVR_PORT = :port"],
    "reactivate": ["UPDATE oceanbase.DBA_OB_SERVERS SET STATUS = 'ACTIVE', MODIFY_TIME = :now"
                   " WHERE SVR_IP = :ip AND SVR_PORT = :port",
                   "UPDATE oceanbase.emu_procs SET added_at = :epoch"
                   " WHERE ip = :ip AND rpc_port = :port"],
    "serve": ["UPDATE oceanbase.DBA_OB_SERVERS SET START_SERVICE_TIME = :now, MODIFY_TIME = :now"
              " WHERE SVR_IP = :ip AND SVR_PORT = :port"],
}


def refresh(store: StateStore, lease: float, delete_delay: float) -> int:
    """Bring every server row up to date in one BEGIN IMMEDIATE; returns the rows changed.

    The plan is first computed without a lock, so reads that change nothing take no write lock.
    """
    if not plan(store, time.time(), lease, delete_delay):
        return 0
    with store.transaction() as conn:
        now = time.time()
        changes = plan(store, now, lease, delete_delay)
        for change, ip, port in changes:
            if change == "delete":
                migrate_off(conn, ip, port)
            params = {"ip": ip, "port": port, "now": now_text(now), "epoch": now}
            for sql in UPDATES[change]:
                conn.execute(sql, params)
    return len(changes)
