"""What a cluster is made of, as `GET /api/v1/ob/info` and `/ob/agents` answer it: servers and
zones as OceanBase reports them, agents as the registry (app.scaleout.registry) lists them.

The shape is obshell's ObInfoResp (`agent_info`, `obcluster_info` with `topology`), which the
SDK's `get_ob_info` reads. obscale adds, where the SDK ignores them, each server's
`start_service_time` and `stop_time` and the zone list `zones` (a zone without servers has no
`topology` entry).
"""
from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any, Iterator, Mapping

from app.dag.dto import UNSET_TIME
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT
from app.node import identity as agent
from app.ob import sql
from app.ob.connection import session
from app.ob.errors import ObError
from app.scaleout import registry

AGENT_FIELDS = ("ip", "port", "zone", "identity", "version")
# /ob/agents: the registry without the public key (the RPC route /rpc/v1/agent/registry has it).
REGISTRY_LIST_FIELDS = (*AGENT_FIELDS, "mysql_port", "rpc_port", "home_path", "os",
                        "architecture", "dag_id")


def dto_time(value: Any) -> str:
    """An aware datetime read from OceanBase as an RFC 3339 DTO time (wire spec §6.5)."""
    if not isinstance(value, datetime):
        return UNSET_TIME
    return value.isoformat(timespec="microseconds")


def this_agent(config: Mapping[str, Any], me: agent.Identity) -> dict[str, Any]:
    """This agent as an agent_info entry."""
    return {"ip": str(config["IP"]), "port": int(config["PORT"]), "zone": me.zone,
            "identity": me.identity, "version": str(config["AGENT_VERSION"])}


def server_entry(row: Mapping[str, Any], agent_ports: Mapping[tuple[str, int], int]) -> dict:
    """One DBA_OB_SERVERS row as a ServerConfig; `agent_ports` maps (ip, rpc_port) to the port of
    the agent registered for that server (0: none). A stopped server shows STOPPED (obshell)."""
    ip, rpc_port = str(row["SVR_IP"]), int(row["SVR_PORT"])
    status = "STOPPED" if row.get("STOP_TIME") else str(row["STATUS"])
    return {"svr_ip": ip, "svr_port": rpc_port, "sql_port": int(row["SQL_PORT"]),
            "agent_port": int(agent_ports.get((ip, rpc_port), 0)),
            "with_rootserver": str(row.get("WITH_ROOTSERVER") or ""), "status": status,
            "build_version": str(row.get("BUILD_VERSION") or "").split("-")[0],
            "start_service_time": dto_time(row.get("START_SERVICE_TIME")),
            "stop_time": dto_time(row.get("STOP_TIME"))}


def cluster_info(cluster_id: int, name: str, version: str, servers: list[Mapping[str, Any]],
                 zones: list[Mapping[str, Any]], agents: list[Mapping[str, Any]]) -> dict:
    """obcluster_info from what OceanBase and the registry report."""
    agent_ports = {(str(a["ip"]), int(a["rpc_port"])): int(a["port"]) for a in agents}
    topology: dict[str, list[dict]] = {}
    for row in servers:
        topology.setdefault(str(row["ZONE"]), []).append(server_entry(row, agent_ports))
    return {"id": int(cluster_id), "name": name, "version": version, "topology": topology,
            "is_shared_storage": False,
            "zones": [{"zone": str(z["ZONE"]), "status": str(z["STATUS"]),
                       "region": str(z.get("REGION") or ""), "idc": str(z.get("IDC") or "")}
                      for z in zones]}


def not_a_member(config: Mapping[str, Any], me: agent.Identity) -> dict[str, Any]:
    """What an agent outside a cluster answers (obshell: itself and an empty cluster)."""
    return {"agent_info": [this_agent(config, me)],
            "obcluster_info": {"id": 0, "name": "", "version": "", "topology": None,
                               "is_shared_storage": False, "zones": []}}


@contextlib.contextmanager
def observer_connection(store: Any, config: Mapping[str, Any], me: agent.Identity
                        ) -> Iterator[Any]:
    """A root@sys connection to an observer of the cluster: the cluster store's own, which goes
    to another member's observer when the local one does not answer; with the store in the
    agent's SQLite (CLUSTER_STORE "agent"), a session to the local observer."""
    if store.shared:
        with store.connection() as database:
            yield database.connection()
        return
    port = me.mysql_port or int(config["OB_MYSQL_PORT"])
    with session(str(config["IP"]), port, agent.get_root_password() or "", config) as conn:
        yield conn


def ob_info(store: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/v1/ob/info data."""
    me = agent.get_identity()
    if me.identity != IDENTITY_CLUSTER_AGENT:
        return not_a_member(config, me)
    agents = registry.rows(store)
    try:
        with observer_connection(store, config, me) as conn:
            servers, zones = sql.servers_table(conn), sql.zones_table(conn)
            version = sql.ob_version(conn)
            name = sql.parameter(conn, "cluster") or me.cluster_name
            cluster_id = sql.parameter(conn, "cluster_id") or me.cluster_id
    except ObError as exc:
        raise ApiError("MySQL.Error", f"MySQL error: {exc}") from None
    return {"agent_info": [{k: a[k] for k in AGENT_FIELDS} for a in agents],
            "obcluster_info": cluster_info(int(cluster_id), name, version, servers, zones, agents)}


def agents(store: Any, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GET /api/v1/ob/agents contents: the registry, or this agent alone outside a cluster."""
    me = agent.get_identity()
    if me.identity != IDENTITY_CLUSTER_AGENT:
        return [this_agent(config, me)]
    return [{k: row[k] for k in REGISTRY_LIST_FIELDS} for row in registry.rows(store)]


def zone_names(store: Any, config: Mapping[str, Any]) -> list[str]:
    """Every zone of this agent's cluster (read with its root@sys password)."""
    try:
        with observer_connection(store, config, agent.get_identity()) as conn:
            return sorted(sql.zone_names(conn))
    except ObError as exc:
        raise ApiError("MySQL.Error", f"MySQL error: {exc}") from None
