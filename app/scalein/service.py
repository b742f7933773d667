"""POST /api/v1/ob/scale_in, DELETE /api/v1/observer and DELETE /api/v1/zone/<name>: the
refusals that come before anything is created, then the DAG.

Where OceanBase itself would refuse, the message names its code: DELETE SERVER of a server whose
units have nowhere to go (so also the cluster's last server, which holds the sys tenant's unit)
is 4624 OB_MACHINE_RESOURCE_NOT_ENOUGH (ObUnitManager::check_enough_resource_for_delete_server);
DELETE ZONE of a zone with servers or units is 4668.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from app import peer
from app.dag.engine import DagEngine
from app.dag.errors import LockHeld
from app.errors import ApiError
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN
from app.node import identity as agent
from app.ob import sql
from app.ob.connection import session
from app.ob.errors import ObError
from app.scaleout import registry, rules
from app.scaleout.service import my_address, require_identity, under_maintenance
from app.scalein.templates import (CLUSTER_SCALE_IN, DELETE_ZONE, DELETE_ZONE_TEMPLATE,
                                   SCALE_IN_TEMPLATE)

NOT_IN_CLUSTER = None  # what scale_in returns for a server the cluster does not list (204)


@dataclass
class ScaleInRequest:
    ip: str
    port: int
    force_kill: bool
    remove_data: bool

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


def from_body(body: Mapping[str, Any]) -> ScaleInRequest:
    """The target agent's IP literal and port range, as for a scale-out."""
    info = body["agent_info"]
    return ScaleInRequest(rules.check_ip(info["ip"]), rules.check_agent_port(info["port"]),
                          bool(body.get("force_kill")), bool(body.get("remove_data")))


def _observer(config: Mapping[str, Any]):
    return session(config["IP"], agent.get_identity().mysql_port or config["OB_MYSQL_PORT"],
                   agent.get_root_password() or "", config)


def _refuse(code: str, message: str, hint: str) -> ApiError:
    return ApiError(code, f"{message}; {hint}", status=400)


def _member_row(engine: DagEngine, req: ScaleInRequest) -> dict[str, Any] | None:
    return next((row for row in registry.rows(engine.store)
                 if (row["ip"], int(row["port"])) == (req.ip, req.port)), None)


def _other_member_answers(engine: DagEngine, config: Mapping[str, Any]) -> bool:
    me = (str(config["IP"]), int(config["PORT"]))
    for member in registry.addresses(engine.store):
        if (member["ip"], member["port"]) == me:
            continue
        try:
            if peer.info(member, config).get("identity") == IDENTITY_CLUSTER_AGENT:
                return True
        except peer.PeerError:
            continue
    return False


def _check_cluster(conn, req: ScaleInRequest, row, zone: str, rpc_port: int) -> None:
    """The refusals OceanBase would answer (4624), checked on the cluster's own views."""
    if row is None or row.status == "DELETING":
        return
    addr = sql.server_address(req.ip, rpc_port)
    if sql.active_server_count(conn) <= 1:
        raise _refuse("OB.Cluster.ScaleInLastServer", f"server {addr} is the last server of the "
                      "cluster: OceanBase refuses to delete it (4624 OB_MACHINE_RESOURCE_NOT_ENOUGH, "
                      "the sys tenant's unit has nowhere to go)", "scale another server out first")
    others = [s for s in sql.zone_servers(conn, zone)
              if (s[0], s[1]) != (req.ip, rpc_port) and s[2] != "DELETING"]
    units = sql.zone_unit_count(conn, zone)
    if not others and units:
        raise _refuse("OB.Cluster.ScaleInZoneKeepsUnits", f"server {addr} is the last server of "
                      f"zone {zone}, which still holds {units} unit(s): OceanBase refuses to delete "
                      "it (4624 OB_MACHINE_RESOURCE_NOT_ENOUGH)",
                      f"add a server to zone {zone} or move the units (their resource pools) out "
                      "of it first")


def _check_agent_part(engine: DagEngine, req: ScaleInRequest, row,
                      config: Mapping[str, Any]) -> None:
    """force_kill only for a dead server; otherwise its agent must answer as a member."""
    if req.force_kill:
        if row is not None and row.serving:
            raise _refuse("OB.Cluster.ScaleInServerAlive", f"server of {req.address} is ACTIVE and "
                          "serving: force_kill is for a server whose host is dead",
                          "scale it in without force_kill")
        return
    try:
        identity = peer.info({"ip": req.ip, "port": req.port}, config).get("identity")
    except peer.PeerUnreachable as exc:
        raise ApiError("Agent.RPC.RequestFailed", f"Request [GET]/api/v1/info to {req.address} "
                       f"failed: {exc.reason}; if its host is dead, scale it in with force_kill"
                       ) from None
    except peer.PeerRefused as exc:
        raise ApiError("Agent.RPC.RequestError", f"Request [GET]/api/v1/info to {req.address} "
                       f"error: {exc.err_code}: {exc.message}") from None
    if identity not in (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN):
        raise ApiError("Agent.Identify.NotSupportOperation", f"'{req.address}' is '{identity}', "
                       f"instead of '{IDENTITY_CLUSTER_AGENT}', does not support this operation")


def scale_in(engine: DagEngine, req: ScaleInRequest, config: Mapping[str, Any]) -> dict | None:
    """The new (or identical running) 'Cluster scale in' DAG, or None when the cluster lists
    neither the server nor its agent."""
    require_identity(my_address(config), agent.get_identity().identity, IDENTITY_CLUSTER_AGENT)
    lock_key = f"scale-in:{req.address}"
    holder = engine.find_lock_holder("cluster")
    if holder is not None and holder.name == CLUSTER_SCALE_IN and holder.lock_key == lock_key:
        return engine.views.dag_dto(holder, False)
    member = _member_row(engine, req)
    if member is None:
        return NOT_IN_CLUSTER
    zone, rpc_port = str(member["zone"]), int(member["rpc_port"])
    try:
        with _observer(config) as conn:
            row = sql.server_row(conn, req.ip, rpc_port)
            _check_cluster(conn, req, row, zone, rpc_port)
    except ObError as exc:
        raise ApiError("MySQL.Error", f"MySQL error: {exc}") from None
    if req.address == my_address(config) and not _other_member_answers(engine, config):
        raise _refuse("OB.Cluster.ScaleInNoOtherMember", f"{req.address} is the agent this "
                      "request reached, and no other member of the cluster answers: nobody could "
                      "finish the scale-in once its observer stops", "send it to another member")
    _check_agent_part(engine, req, row, config)
    params = {"agentInfo": {"ip": req.ip, "port": req.port}, "zone": zone, "rpcPort": rpc_port,
              "mysqlPort": int(member["mysql_port"]), "forceKill": req.force_kill,
              "removeData": req.remove_data, "registryRow": member}
    try:
        dag = engine.create_dag(SCALE_IN_TEMPLATE, params, lock_key=lock_key)
    except LockHeld as held:
        if held.holder is not None and held.holder.lock_key == lock_key:
            return engine.views.dag_dto(held.holder, False)
        raise _held(engine, held, CLUSTER_SCALE_IN) from None
    return engine.views.dag_dto(dag, False)


def _held(engine: DagEngine, held: LockHeld, task: str) -> ApiError:
    if held.holder is None:
        return ApiError("OB.Cluster.UnderMaintenance", f"Create task '{task}' failed: OceanBase "
                        "cluster is under maintenance, please try again later")
    return under_maintenance(engine, held.holder, task)


def delete_zone(engine: DagEngine, zone: str, config: Mapping[str, Any]) -> dict:
    """The new (or identical running) 'Delete zone' DAG; refused while the zone has servers or
    units, or when it is this agent's own zone."""
    require_identity(my_address(config), agent.get_identity().identity, IDENTITY_CLUSTER_AGENT)
    rules.check_zone(zone)
    lock_key = f"delete-zone:{zone}"
    holder = engine.find_lock_holder("cluster")
    if holder is not None and holder.name == DELETE_ZONE and holder.lock_key == lock_key:
        return engine.views.dag_dto(holder, False)
    if zone == agent.get_identity().zone:
        raise _refuse("OB.Zone.OwnZone", f"zone {zone} is the zone of {my_address(config)}, the "
                      "agent this request reached", "send it to an agent of another zone")
    try:
        with _observer(config) as conn:
            info = sql.zone_row(conn, zone)
            servers = sql.zone_servers(conn, zone) if info else []
            units = sql.zone_unit_count(conn, zone) if info else 0
    except ObError as exc:
        raise ApiError("MySQL.Error", f"MySQL error: {exc}") from None
    if info is None:
        raise ApiError("OB.Zone.NotExist", f"Zone info '{zone}' not exist (4530)", status=404)
    if servers or units:
        names = ", ".join(sql.server_address(ip, port) for ip, port, _ in servers)
        raise _refuse("OB.Zone.NotEmpty", f"zone {zone} still holds {len(servers)} server(s)"
                      f"{' (' + names + ')' if names else ''} and {units} unit(s): OceanBase "
                      "refuses to delete it (4668, zone not empty)",
                      "scale its servers in and move its units out first")
    try:
        dag = engine.create_dag(DELETE_ZONE_TEMPLATE, {"zone": zone, "zoneInfo": info},
                                lock_key=lock_key)
    except LockHeld as held:
        if held.holder is not None and held.holder.lock_key == lock_key:
            return engine.views.dag_dto(held.holder, False)
        raise _held(engine, held, DELETE_ZONE) from None
    return engine.views.dag_dto(dag, False)
