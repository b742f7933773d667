"""A minimal notion of resource units: which zone and server each tenant unit sits on.

Enough for the refusals that depend on units (OceanBase's `ObUnitManager` and
`ObServerZoneOpService` in src/rootserver/): DELETE SERVER of a server whose units have no other
server of their zone to move to, STOP ZONE and DELETE ZONE of a zone that still holds units.
BOOTSTRAP creates the sys tenant's unit (tenant 1) on the bootstrap server, as OceanBase does, so
the last server of a cluster can never be deleted. Other units are added by the test harness
(`obemu unit add`, obemu.admin.add_unit): obemu has no CREATE RESOURCE POOL / CREATE TENANT.
A unit moves to another server of its zone when its server's deletion finishes.
"""
from __future__ import annotations

import sqlite3

from obemu.state import now_text

SYS_TENANT_ID = 1
# The server a unit moves to: another server of its zone that is not being deleted.
OTHER_SERVER = ("SELECT o.SVR_IP, o.SVR_PORT FROM oceanbase.DBA_OB_SERVERS o WHERE o.ZONE = ?"
                " AND o.STATUS <> 'DELETING' AND NOT (o.SVR_IP = ? AND o.SVR_PORT = ?)"
                " ORDER BY o.ID LIMIT 1")


def insert_unit(conn: sqlite3.Connection, tenant_id: int, zone: str, ip: str | None,
                port: int | None) -> int:
    """A new ACTIVE unit of `tenant_id` in `zone` on ip:port; returns its UNIT_ID."""
    unit_id = conn.execute("SELECT COALESCE(MAX(UNIT_ID), 1000) + 1 FROM oceanbase.DBA_OB_UNITS"
                           ).fetchone()[0]
    now = now_text()
    conn.execute("INSERT INTO oceanbase.DBA_OB_UNITS (UNIT_ID, TENANT_ID, STATUS, RESOURCE_POOL_ID,"
                 " ZONE, SVR_IP, SVR_PORT, CREATE_TIME, MODIFY_TIME) VALUES (?, ?, 'ACTIVE', ?, ?,"
                 " ?, ?, ?, ?)", (unit_id, tenant_id, tenant_id, zone, ip, port, now, now))
    return unit_id


def units_in_zone(conn: sqlite3.Connection, zone: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM oceanbase.DBA_OB_UNITS WHERE ZONE = ?",
                        (zone,)).fetchone()[0]


def units_on_server(conn: sqlite3.Connection, ip: str, port: int) -> int:
    return conn.execute("SELECT COUNT(*) FROM oceanbase.DBA_OB_UNITS WHERE SVR_IP = ? AND"
                        " SVR_PORT = ?", (ip, port)).fetchone()[0]


def has_other_server(conn: sqlite3.Connection, zone: str, ip: str, port: int,
                     leaving: list[tuple[str, int]] = ()) -> bool:
    """Whether a server of `zone` other than ip:port (and those in `leaving`) can take units."""
    rows = conn.execute(OTHER_SERVER.replace(" LIMIT 1", ""), (zone, ip, port)).fetchall()
    return any((row[0], row[1]) not in leaving for row in rows)


def migrate_off(conn: sqlite3.Connection, ip: str, port: int) -> None:
    """Move the units of a server whose deletion finishes to another server of their zone."""
    for unit_id, zone in conn.execute("SELECT UNIT_ID, ZONE FROM oceanbase.DBA_OB_UNITS WHERE"
                                      " SVR_IP = ? AND SVR_PORT = ?", (ip, port)).fetchall():
        target = conn.execute(OTHER_SERVER, (zone, ip, port)).fetchone()
        if target is not None:
            conn.execute("UPDATE oceanbase.DBA_OB_UNITS SET SVR_IP = ?, SVR_PORT = ?,"
                         " MODIFY_TIME = ? WHERE UNIT_ID = ?", (*target, now_text(), unit_id))
