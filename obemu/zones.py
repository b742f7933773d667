"""ALTER SYSTEM ADD / START / STOP / DELETE ZONE against the shared state."""
from __future__ import annotations

import sqlite3

from obemu.errors import ob_error
from obemu.state import StateStore, now_text
from obemu.units import units_in_zone

DEFAULT_REGION = "default_region"
DEFAULT_ZONE_TYPE = "ReadWrite"


def zone_status(conn: sqlite3.Connection, zone: str) -> str | None:
    row = conn.execute("SELECT STATUS FROM oceanbase.DBA_OB_ZONES WHERE ZONE = ?",
                       (zone,)).fetchone()
    return None if row is None else row[0]


def insert_zone(conn: sqlite3.Connection, zone: str, status: str, region: str, idc: str = "",
                zone_type: str = DEFAULT_ZONE_TYPE) -> None:
    now = now_text()
    conn.execute("INSERT INTO oceanbase.DBA_OB_ZONES VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (zone, now, now, status, idc, region, zone_type))


def _set_status(conn: sqlite3.Connection, zone: str, status: str) -> None:
    conn.execute("UPDATE oceanbase.DBA_OB_ZONES SET STATUS = ?, MODIFY_TIME = ? WHERE ZONE = ?",
                 (status, now_text(), zone))


def _existing_status(conn: sqlite3.Connection, zone: str) -> str:
    status = zone_status(conn, zone)
    if status is None:
        raise ob_error(4530, zone=zone)
    return status


def add_zone(store: StateStore, zone: str, options: dict[str, str]) -> None:
    """A new INACTIVE zone; 4017 when it exists."""
    with store.transaction() as conn:
        if zone_status(conn, zone) is not None:
            raise ob_error(4017)
        insert_zone(conn, zone, "INACTIVE", options.get("region", DEFAULT_REGION),
                    options.get("idc", ""), options.get("zone_type", DEFAULT_ZONE_TYPE))


def start_zone(store: StateStore, zone: str) -> None:
    """INACTIVE -> ACTIVE; 4633 on an ACTIVE zone (not idempotent, as in OceanBase)."""
    with store.transaction() as conn:
        if _existing_status(conn, zone) == "ACTIVE":
            raise ob_error(4633)
        _set_status(conn, zone, "ACTIVE")


def stop_zone(store: StateStore, zone: str) -> None:
    """ACTIVE -> INACTIVE; idempotent; refuses to stop the last active zone."""
    with store.transaction() as conn:
        if _existing_status(conn, zone) != "ACTIVE":
            return
        active = conn.execute(
            "SELECT COUNT(*) FROM oceanbase.DBA_OB_ZONES WHERE STATUS = 'ACTIVE'").fetchone()[0]
        if active <= 1:
            raise ob_error(4179, what="stop the last active zone")
        # obemu's stand-in for RootService's check_can_stop (replicas would lose their
        # majority): a zone that still holds units is not stopped (OB_OP_NOT_ALLOW, -4179).
        # A zone with servers but no units may be stopped, as in OceanBase.
        if units_in_zone(conn, zone):
            raise ob_error(4179, what=f"stop zone '{zone}' that still holds units")
        _set_status(conn, zone, "INACTIVE")


def delete_zone(store: StateStore, zone: str) -> None:
    """Remove an INACTIVE, empty zone."""
    with store.transaction() as conn:
        if _existing_status(conn, zone) != "INACTIVE":
            raise ob_error(4633)
        servers = conn.execute("SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS WHERE ZONE = ?",
                               (zone,)).fetchone()[0]
        # 4668 (spec/scale-out.md §9.3: OB_ERR_ZONE_NOT_EMPTY) for servers or units left in it.
        if servers or units_in_zone(conn, zone):
            raise ob_error(4668)
        conn.execute("DELETE FROM oceanbase.DBA_OB_ZONES WHERE ZONE = ?", (zone,))
