"""Every statement obscale sends to OceanBase. Values travel as PyMySQL parameters only."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from app.ob.connection import execute, fetch_all
from app.ob.errors import map_error


def server_address(ip: str, rpc_port: int) -> str:
    """'ip:port', or '[ip]:port' for IPv6, from already validated values."""
    if ipaddress.ip_address(ip).version == 6:
        return f"[{ip}]:{int(rpc_port)}"
    return f"{ip}:{int(rpc_port)}"


def utc(value: Any) -> Any:
    """A time read on obscale's UTC session (app.ob.connection) as an aware datetime."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


@dataclass
class ServerRow:
    zone: str
    status: str
    start_service_time: datetime | None
    stop_time: datetime | None

    def __post_init__(self) -> None:
        self.start_service_time = utc(self.start_service_time)
        self.stop_time = utc(self.stop_time)

    @property
    def serving(self) -> bool:
        """ACTIVE, started serving, not stopped: what 'truly serves' means."""
        return (self.status == "ACTIVE" and self.start_service_time is not None
                and self.stop_time is None)


def count_servers(conn, ip: str, rpc_port: int) -> int:
    rows = fetch_all(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS "
                           "WHERE SVR_IP = %s AND SVR_PORT = %s", (ip, int(rpc_port)))
    return int(rows[0][0])


def server_row(conn, ip: str, rpc_port: int) -> ServerRow | None:
    """The DBA_OB_SERVERS row of ip:rpc_port, or None."""
    rows = fetch_all(conn, "SELECT ZONE, STATUS, START_SERVICE_TIME, STOP_TIME "
                           "FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s AND SVR_PORT = %s",
                     (ip, int(rpc_port)))
    return ServerRow(*rows[0]) if rows else None


def self_server(conn, ip: str, sql_port: int) -> list[tuple]:
    """Rows (SVR_IP, SVR_PORT, ZONE, SQL_PORT, STATUS) for the server at ip:sql_port."""
    return fetch_all(conn, "SELECT SVR_IP, SVR_PORT, ZONE, SQL_PORT, STATUS "
                           "FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s AND SQL_PORT = %s",
                     (ip, int(sql_port)))


def zone_count(conn, zone: str) -> int:
    rows = fetch_all(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_ZONES WHERE ZONE = %s", (zone,))
    return int(rows[0][0])


def zone_names(conn) -> list[str]:
    """Every zone of the cluster, as DBA_OB_ZONES spells it."""
    return [str(row[0]) for row in fetch_all(conn, "SELECT ZONE FROM oceanbase.DBA_OB_ZONES")]


def parameter_names(conn) -> set[str]:
    """The names of every parameter the cluster knows (GV$OB_PARAMETERS)."""
    return {str(row[0]) for row in fetch_all(
        conn, "SELECT DISTINCT NAME FROM oceanbase.GV$OB_PARAMETERS")}


def zone_status(conn, zone: str) -> str | None:
    """'ACTIVE', 'INACTIVE', or None when the zone does not exist."""
    rows = fetch_all(conn, "SELECT STATUS FROM oceanbase.DBA_OB_ZONES WHERE ZONE = %s", (zone,))
    return str(rows[0][0]) if rows else None


def parameter(conn, name: str) -> str | None:
    """A parameter of the server this connection is attached to."""
    rows = fetch_all(conn, "SELECT VALUE FROM oceanbase.V$OB_PARAMETERS WHERE NAME = %s", (name,))
    return str(rows[0][0]) if rows else None


def own_parameters(conn, names: list[str]) -> dict[str, str]:
    """NAME -> VALUE from V$OB_PARAMETERS for the attached server."""
    marks = ", ".join(["%s"] * len(names))
    rows = fetch_all(conn, f"SELECT NAME, VALUE FROM oceanbase.V$OB_PARAMETERS WHERE NAME IN ({marks})",
                     tuple(names))
    return {str(n): str(v) for n, v in rows}


def server_parameters(conn, ip: str, rpc_port: int, names: list[str]) -> dict[str, str]:
    """NAME -> VALUE from GV$OB_PARAMETERS for one server."""
    marks = ", ".join(["%s"] * len(names))
    rows = fetch_all(conn, "SELECT NAME, VALUE FROM oceanbase.GV$OB_PARAMETERS "
                           f"WHERE SVR_IP = %s AND SVR_PORT = %s AND NAME IN ({marks})",
                     (ip, int(rpc_port), *names))
    return {str(n): str(v) for n, v in rows}


def add_zone(conn, zone: str) -> None:
    execute(conn, "ALTER SYSTEM ADD ZONE %s", (zone,))


def start_zone(conn, zone: str) -> None:
    execute(conn, "ALTER SYSTEM START ZONE %s", (zone,))


def stop_zone(conn, zone: str) -> None:
    execute(conn, "ALTER SYSTEM STOP ZONE %s", (zone,))


def delete_zone(conn, zone: str) -> None:
    execute(conn, "ALTER SYSTEM DELETE ZONE %s", (zone,))


def add_server(conn, ip: str, rpc_port: int, zone: str) -> None:
    execute(conn, "ALTER SYSTEM ADD SERVER %s ZONE %s", (server_address(ip, rpc_port), zone))


def delete_server(conn, ip: str, rpc_port: int, zone: str) -> None:
    execute(conn, "ALTER SYSTEM DELETE SERVER %s ZONE %s", (server_address(ip, rpc_port), zone))


def cancel_delete_server(conn, ip: str, rpc_port: int, zone: str) -> None:
    execute(conn, "ALTER SYSTEM CANCEL DELETE SERVER %s ZONE %s", (server_address(ip, rpc_port), zone))


def zone_servers(conn, zone: str) -> list[tuple[str, int, str]]:
    """(SVR_IP, SVR_PORT, STATUS) of every server of a zone."""
    return [(str(ip), int(port), str(status)) for ip, port, status in fetch_all(
        conn, "SELECT SVR_IP, SVR_PORT, STATUS FROM oceanbase.DBA_OB_SERVERS WHERE ZONE = %s",
        (zone,))]


def active_server_count(conn) -> int:
    """Servers of the cluster that are not being deleted."""
    rows = fetch_all(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS WHERE STATUS <> 'DELETING'")
    return int(rows[0][0])


def zone_unit_count(conn, zone: str) -> int:
    """Resource units placed in a zone (DBA_OB_UNITS)."""
    rows = fetch_all(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_UNITS WHERE ZONE = %s", (zone,))
    return int(rows[0][0])


def zone_row(conn, zone: str) -> dict[str, Any] | None:
    """STATUS, REGION, IDC and TYPE of a zone (what ADD ZONE needs to re-create it), or None."""
    rows = fetch_all(conn, "SELECT ZONE, STATUS, REGION, IDC, TYPE FROM oceanbase.DBA_OB_ZONES "
                           "WHERE ZONE = %s", (zone,))
    if not rows:
        return None
    return dict(zip(("zone", "status", "region", "idc", "type"),
                    (str(v) if v is not None else "" for v in rows[0])))


def add_zone_like(conn, zone: str, region: str, idc: str, zone_type: str) -> None:
    """ADD ZONE with the region, IDC and type a removed zone had."""
    statement, args = "ALTER SYSTEM ADD ZONE %s REGION %s", [zone, region or "default_region"]
    if idc:
        statement, args = statement + " IDC %s", args + [idc]
    execute(conn, statement + " ZONE_TYPE %s", (*args, zone_type or "ReadWrite"))


def servers_table(conn) -> list[dict[str, Any]]:
    """All DBA_OB_SERVERS rows as dicts (for display)."""
    return _as_dicts(conn, "SELECT SVR_IP, SVR_PORT, ZONE, SQL_PORT, STATUS, START_SERVICE_TIME, "
                           "STOP_TIME, WITH_ROOTSERVER, BUILD_VERSION FROM oceanbase.DBA_OB_SERVERS "
                           "ORDER BY ZONE, SVR_IP, SVR_PORT")


def zones_table(conn) -> list[dict[str, Any]]:
    """All DBA_OB_ZONES rows as dicts (for display)."""
    return _as_dicts(conn, "SELECT ZONE, STATUS, REGION, IDC FROM oceanbase.DBA_OB_ZONES ORDER BY ZONE")


def ob_version(conn) -> str:
    """The cluster's OceanBase version as ob_version() gives it (4 parts, no build)."""
    return str(fetch_all(conn, "SELECT ob_version()")[0][0])


def _as_dicts(conn, sql: str) -> list[dict[str, Any]]:
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, (utc(v) for v in row))) for row in cursor.fetchall()]
    except Exception as exc:  # noqa: BLE001 - every failure becomes a typed ObError
        raise map_error(exc) from None
