"""A node's own row in emu_procs and its parameter rows: registration, heartbeat, stop."""
from __future__ import annotations

import time

from obemu import constants as c
from obemu import parameters
from obemu.config import NodeConfig
from obemu.state import StateStore, now_text


def register(store: StateStore, cfg: NodeConfig, pid: int, heartbeat: bool) -> None:
    """Upsert this node's emu_procs row (keeping added_at) and rewrite its parameter rows."""
    beat = time.time() if heartbeat else None
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO oceanbase.emu_procs (ip, rpc_port, sql_port, zone, cluster, cluster_id,"
            " pid, data_dir, home, heartbeat, faults, nonempty, build_version, registered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (ip, rpc_port) DO UPDATE SET sql_port = excluded.sql_port,"
            " zone = excluded.zone, cluster = excluded.cluster, cluster_id = excluded.cluster_id,"
            " pid = excluded.pid, data_dir = excluded.data_dir, home = excluded.home,"
            " heartbeat = excluded.heartbeat, faults = excluded.faults,"
            " nonempty = excluded.nonempty, build_version = excluded.build_version,"
            " registered_at = excluded.registered_at",
            (cfg.ip, cfg.rpc_port, cfg.mysql_port, cfg.zone, cfg.cluster, cfg.cluster_id, pid,
             str(cfg.data_dir or ""), str(cfg.home or ""), beat, cfg.knobs.faults,
             int(cfg.nonempty), c.build_version(cfg.knobs.version), now_text()))
        conn.execute('DELETE FROM oceanbase."GV$OB_PARAMETERS" WHERE SVR_IP = ? AND SVR_PORT = ?',
                     (cfg.ip, cfg.rpc_port))
        conn.executemany(
            'INSERT INTO oceanbase."GV$OB_PARAMETERS" VALUES'
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            parameters.rows_for(cfg, c.DEFAULT_PARAMETERS))


def heartbeat(store: StateStore, ip: str, port: int) -> None:
    """Write `heartbeat = now` to this node's emu_procs row."""
    with store.transaction() as conn:
        conn.execute("UPDATE oceanbase.emu_procs SET heartbeat = ? WHERE ip = ? AND rpc_port = ?",
                     (time.time(), ip, port))


def mark_stopped(store: StateStore, ip: str, port: int, pid: int) -> None:
    """Forget the pid of a cleanly stopped node; its lease then runs out."""
    with store.transaction() as conn:
        conn.execute("UPDATE oceanbase.emu_procs SET pid = NULL WHERE ip = ? AND rpc_port = ?"
                     " AND pid = ?", (ip, port, pid))


def proc_row(store: StateStore, ip: str, port: int) -> dict | None:
    """The emu_procs row of ip:port as a dict, None when no such node registered."""
    cursor = store.conn.execute(
        "SELECT * FROM oceanbase.emu_procs WHERE ip = ? AND rpc_port = ?", (ip, port))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row))
