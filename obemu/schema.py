"""DDL of the shared cluster state file, attached to each connection as schema `oceanbase`.

The views' string columns compare as OceanBase's do (utf8mb4_general_ci: case, accents and
trailing spaces ignored), which also makes a zone `ZONE1` a duplicate of `zone1`. Times are
stored as UTC text and shown in the session's time zone.
"""
from __future__ import annotations

from obemu.sql.collation import NAME as CI

SCHEMA_VERSION = "2"
T = f"TEXT COLLATE {CI}"
# Tables whose definition changed in version 2 (collation, GV$OB_PARAMETERS columns); an
# older state file is rebuilt from them (obemu.state.StateStore.migrate).
REBUILT = ("DBA_OB_SERVERS", "DBA_OB_ZONES", "GV$OB_PARAMETERS")
VIEWS = ("V$OB_PARAMETERS", "GV$OB_SERVERS", "V$OB_SERVERS")

TABLES = [
    f"""CREATE TABLE IF NOT EXISTS oceanbase.DBA_OB_SERVERS (
        SVR_IP {T} NOT NULL, SVR_PORT INTEGER NOT NULL, ID INTEGER NOT NULL, ZONE {T} NOT NULL,
        SQL_PORT INTEGER NOT NULL, WITH_ROOTSERVER {T} NOT NULL, STATUS {T} NOT NULL,
        START_SERVICE_TIME TEXT, STOP_TIME TEXT, BLOCK_MIGRATE_IN_TIME TEXT,
        CREATE_TIME TEXT, MODIFY_TIME TEXT, BUILD_VERSION {T}, LAST_OFFLINE_TIME TEXT,
        PRIMARY KEY (SVR_IP, SVR_PORT))""",
    f"""CREATE TABLE IF NOT EXISTS oceanbase.DBA_OB_ZONES (
        ZONE {T} PRIMARY KEY, CREATE_TIME TEXT, MODIFY_TIME TEXT, STATUS {T} NOT NULL,
        IDC {T}, REGION {T}, TYPE {T})""",
    f"""CREATE TABLE IF NOT EXISTS oceanbase."GV$OB_PARAMETERS" (
        SVR_IP {T} NOT NULL, SVR_PORT INTEGER NOT NULL, ZONE {T}, SCOPE {T}, TENANT_ID INTEGER,
        NAME {T} NOT NULL, DATA_TYPE {T}, VALUE {T}, INFO {T}, SECTION {T}, EDIT_LEVEL {T},
        DEFAULT_VALUE {T}, ISDEFAULT {T}, PRIMARY KEY (SVR_IP, SVR_PORT, NAME))""",
    """CREATE VIEW IF NOT EXISTS oceanbase."V$OB_PARAMETERS" AS
        SELECT * FROM "GV$OB_PARAMETERS"
        WHERE SVR_IP = emu_self_ip() AND SVR_PORT = emu_self_port()""",
    """CREATE VIEW IF NOT EXISTS oceanbase."GV$OB_SERVERS" AS
        SELECT SVR_IP, SVR_PORT, ZONE, SQL_PORT, 16 AS CPU_CAPACITY, 16 AS CPU_CAPACITY_MAX,
               0 AS CPU_ASSIGNED, 0 AS CPU_ASSIGNED_MAX, 8589934592 AS MEM_CAPACITY,
               0 AS MEM_ASSIGNED, 8589934592 AS LOG_DISK_CAPACITY, 0 AS LOG_DISK_ASSIGNED,
               0 AS LOG_DISK_IN_USE, 10737418240 AS DATA_DISK_CAPACITY, 0 AS DATA_DISK_IN_USE,
               'NORMAL' AS DATA_DISK_HEALTH_STATUS, 8589934592 AS MEMORY_LIMIT
        FROM DBA_OB_SERVERS WHERE STATUS <> 'INACTIVE'""",
    """CREATE VIEW IF NOT EXISTS oceanbase."V$OB_SERVERS" AS
        SELECT * FROM "GV$OB_SERVERS"
        WHERE SVR_IP = emu_self_ip() AND SVR_PORT = emu_self_port()""",
    # A minimal DBA_OB_UNITS (obemu/units.py): which zone and server each tenant unit sits on.
    f"""CREATE TABLE IF NOT EXISTS oceanbase.DBA_OB_UNITS (
        UNIT_ID INTEGER PRIMARY KEY, TENANT_ID INTEGER NOT NULL, STATUS {T} NOT NULL,
        RESOURCE_POOL_ID INTEGER, ZONE {T} NOT NULL, SVR_IP {T}, SVR_PORT INTEGER,
        CREATE_TIME TEXT, MODIFY_TIME TEXT)""",
    """CREATE TABLE IF NOT EXISTS oceanbase.emu_procs (
        ip TEXT NOT NULL, rpc_port INTEGER NOT NULL, sql_port INTEGER NOT NULL, zone TEXT NOT NULL,
        cluster TEXT NOT NULL, cluster_id INTEGER NOT NULL, pid INTEGER, data_dir TEXT, home TEXT,
        heartbeat REAL, added_at REAL, faults TEXT NOT NULL DEFAULT '',
        nonempty INTEGER NOT NULL DEFAULT 0, build_version TEXT, registered_at TEXT,
        PRIMARY KEY (ip, rpc_port))""",
    """CREATE TABLE IF NOT EXISTS oceanbase.emu_meta (key TEXT PRIMARY KEY, value TEXT)""",
    """CREATE TABLE IF NOT EXISTS oceanbase.emu_faults (
        id INTEGER PRIMARY KEY AUTOINCREMENT, svr_ip TEXT NOT NULL DEFAULT '*',
        svr_port TEXT NOT NULL DEFAULT '*', kind TEXT NOT NULL, arg TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS oceanbase.emu_users (name TEXT PRIMARY KEY, auth TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS oceanbase.emu_statements (
        id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, node TEXT NOT NULL,
        sql TEXT NOT NULL, code INTEGER NOT NULL, message TEXT NOT NULL DEFAULT '')""",
]
