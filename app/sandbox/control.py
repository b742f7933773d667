"""`sandbox down` and `sandbox status`: what runs, what the cluster looks like, stopping by pid."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obemu.client import connect
from obemu.procutil import observer_pid

from app.ob.connection import SESSION_TIME_ZONE
from app.ob.sql import utc
from app.peer.client import AgentClient
from app.peer.errors import PeerError
from app.sandbox import layout
from app.sandbox.layout import Sandbox
from app.sandbox.procs import is_observer, is_serve_of, observer_pids, stop_agents, stop_observers

log = logging.getLogger(__name__)

SERVERS_SQL = ("SELECT SVR_IP, SVR_PORT, ZONE, SQL_PORT, WITH_ROOTSERVER, STATUS, "
               "START_SERVICE_TIME FROM oceanbase.DBA_OB_SERVERS ORDER BY ZONE, SVR_IP")
ZONES_SQL = "SELECT ZONE, STATUS, REGION, IDC, TYPE FROM oceanbase.DBA_OB_ZONES ORDER BY ZONE"


@dataclass
class DownReport:
    """Pids that `down` stopped, and those still alive after SIGKILL."""

    stopped: list[int]
    left: list[int]


def _recorded_observers(sandbox: Sandbox) -> list[int]:
    return observer_pids(sandbox.homes(), [int(sandbox.cluster.get("observer_pid") or 0)])


def running_pids(sandbox: Sandbox) -> list[int]:
    """Live agents and observers of the sandbox."""
    agents = [agent.pid for agent in sandbox.agents if is_serve_of(agent.pid, agent.home)]
    return agents + _recorded_observers(sandbox)


def down(directory: str | Path) -> DownReport:
    """Stop the agents (SIGTERM to `obscale serve`), then every observer; record the result."""
    sandbox = layout.load(directory)
    serves = [agent.pid for agent in sandbox.agents if is_serve_of(agent.pid, agent.home)]
    left = stop_agents((agent.pid, agent.home) for agent in sandbox.agents)
    observers = _recorded_observers(sandbox)  # after the agents: none can launch one now
    left += stop_observers(observers)
    sandbox.state = "stopped" if not left else "stop incomplete"
    layout.save(sandbox)
    log.info("sandbox %s: stopped %s, left %s", directory, serves + observers, left)
    return DownReport([pid for pid in serves + observers if pid not in left], left)


def cluster_tables(sandbox: Sandbox) -> tuple[list[dict], list[dict]]:
    """DBA_OB_SERVERS and DBA_OB_ZONES as root@sys (PyMySQL, no TLS)."""
    import pymysql

    cluster = sandbox.cluster
    conn = connect(cluster["mysql_ip"], int(cluster["mysql_port"]), "root", sandbox.root_password,
                   cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SET time_zone = '{SESSION_TIME_ZONE}'")
            cursor.execute(SERVERS_SQL)
            servers = [{k: utc(v) for k, v in row.items()} for row in cursor.fetchall()]
            cursor.execute(ZONES_SQL)
            return servers, list(cursor.fetchall())
    finally:
        conn.close()


def _agent_status(agent: layout.AgentRecord) -> dict[str, Any]:
    running = is_serve_of(agent.pid, agent.home)
    identity = ""
    if running:
        try:
            identity = str(AgentClient(agent.ip, agent.port, timeout=2.0).info().get("identity"))
        except PeerError as exc:
            identity = f"not answering ({exc})"
    return {"agent": f"{agent.ip}:{agent.port}", "pid": agent.pid, "running": running,
            "identity": identity, "home": agent.home}


def _observer_status(home: Path) -> dict[str, Any]:
    pid = observer_pid(home)
    return {"home": str(home), "pid": pid or "", "running": bool(pid) and is_observer(pid)}


def status(sandbox: Sandbox) -> dict[str, Any]:
    """Agents, observers, servers and zones (the root password is left out)."""
    public = {key: value for key, value in sandbox.cluster.items() if key != "root_password"}
    result: dict[str, Any] = {"dir": sandbox.dir, "state": sandbox.state, "cluster": public,
                              "agents": [_agent_status(agent) for agent in sandbox.agents],
                              "observers": [_observer_status(home) for home in sandbox.homes()],
                              "servers": [], "zones": [], "sql_error": ""}
    try:
        result["servers"], result["zones"] = cluster_tables(sandbox)
    except Exception as exc:  # noqa: BLE001 - status reports any failure to reach the cluster
        result["sql_error"] = f"{type(exc).__name__}: {exc}"
    return result
