"""The stages of 'Cluster scale in' (run by the cluster's executor, check before act)."""
from __future__ import annotations

from typing import Any

from app import peer
from app.dag.template import TaskFailed
from app.models import IDENTITY_SINGLE
from app.node.identity import get_root_password
from app.ob import sql
from app.scaleout import registry
from app.scaleout.steps import local_ob, peer_call, wait
from app.scalein.alter import run_alter

OB_SERVER_ALREADY_DELETED = 4628
OB_SERVER_NOT_DELETING = 4629
DELETE_BUDGET = "SCALE_OUT_DELETE_SERVER_TIMEOUT_S"
TARGET_MARK = "scaleInTarget"
WAIT_DELETED = "Wait server deleted"
AFTER_DELETION = ("its node's agent is still SCALING IN and its registry row is kept: PASS "
                  "this DAG, then scale the same target in again to finish (each stage finds "
                  "what is done already)")


def _server_listed(dag, store) -> tuple[str, bool | None]:
    """The DAG's server address, and whether DBA_OB_SERVERS lists it (None: not known here,
    the cluster store is the agent's SQLite)."""
    params = dag.params_dict()
    ip, rpc_port = params["agentInfo"]["ip"], int(params["rpcPort"])
    if not getattr(store, "shared", False):
        return sql.server_address(ip, rpc_port), None
    listed = sql.server_row(store.database.connection(), ip, rpc_port) is not None
    return sql.server_address(ip, rpc_port), listed


def rollback_guard(dag, store) -> str | None:
    """ROLLBACK is refused once OceanBase has deleted the server this DAG deleted: there is
    nothing to cancel any more, and RETRY finishes the scale-in."""
    if not dag.params_dict().get("deleteServerSent"):
        return None
    address, listed = _server_listed(dag, store)
    if listed is not False:
        return None
    return (f"OceanBase has already deleted server {address}, so the scale-in cannot be undone; "
            "RETRY it to finish (the registry row, the node's agent)")


def pass_guard(dag, store) -> str | None:
    """PASS ends a failed scale-in only once OceanBase has deleted the server: then the rest
    (the registry row, the node's agent) can be finished by a new scale-in of the same target,
    e.g. when the node's host died after the deletion. Before that, RETRY or ROLLBACK."""
    address, listed = _server_listed(dag, store)
    if listed:
        return f"server {address} is still in the cluster: RETRY or ROLLBACK this DAG"
    return None


def target_of(ctx) -> dict[str, Any]:
    return ctx.params["agentInfo"]


def _server(ctx) -> tuple[str, int, str, str]:
    """The removed server: IP, RPC port, zone, and its 'ip:port' address."""
    ip, rpc_port = target_of(ctx)["ip"], int(ctx.params["rpcPort"])
    return ip, rpc_port, ctx.params["zone"], sql.server_address(ip, rpc_port)


def delete_server(ctx) -> None:
    """DELETE SERVER unless the server is DELETING already or gone."""
    me = peer.address(target_of(ctx))
    if ctx.data.get(TARGET_MARK) != me:
        ctx.set_data(TARGET_MARK, me)  # the target's agent checks this before it acts
    ip, rpc_port, zone, addr = _server(ctx)
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
        if row is None:
            ctx.log(f"server {addr} is not in the cluster: nothing to delete")
            return
        if row.status == "DELETING":
            ctx.log(f"server {addr} is DELETING already: not deleted again")
            return
        # Recorded before the statement: a crash after it must still let the rollback cancel.
        if not ctx.params.get("deleteServerSent"):
            ctx.set("deleteServerSent", True)
        run_alter(ctx, conn, f"ALTER SYSTEM DELETE SERVER '{addr}' ZONE '{zone}'",
                  lambda c: sql.delete_server(c, ip, rpc_port, zone),
                  lambda c: getattr(sql.server_row(c, ip, rpc_port), "status",
                                    "DELETING") == "DELETING",
                  already_codes=(OB_SERVER_ALREADY_DELETED,), budget_key=DELETE_BUDGET)


def cancel_delete_server(ctx) -> None:
    """Rollback: CANCEL DELETE SERVER while OceanBase has not finished deleting it. The first
    rollback of the DAG does it (stage 3, or stage 2 when the DAG failed there), before the
    node's agent becomes a member again: if OceanBase has finished meanwhile, nothing of the
    scale-in has been undone yet. A deletion this DAG did not start is not cancelled."""
    ip, rpc_port, zone, addr = _server(ctx)
    if not ctx.params.get("deleteServerSent"):
        ctx.log(f"this DAG did not delete server {addr}: nothing to cancel")
        return
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
        if row is None:
            raise TaskFailed(f"server {addr} has been deleted already: OceanBase finished "
                             "while this rollback began, so the scale-in cannot be undone; "
                             f"{AFTER_DELETION}")
        if row.status != "DELETING":
            ctx.log(f"server {addr} is {row.status}: nothing to cancel")
            return
        run_alter(ctx, conn, f"ALTER SYSTEM CANCEL DELETE SERVER '{addr}' ZONE '{zone}'",
                  lambda c: sql.cancel_delete_server(c, ip, rpc_port, zone),
                  lambda c: getattr(sql.server_row(c, ip, rpc_port), "status", None) not in (
                      None, "DELETING"), already_codes=(OB_SERVER_NOT_DELETING,))


def _rpc(ctx, action: str, **extra: Any) -> dict[str, Any]:
    """POST /rpc/v1/ob/scale_in to the removed node's agent."""
    me = {"ip": ctx.config["IP"], "port": int(ctx.config["PORT"])}
    members = [m for m in [me, *registry.addresses(ctx.store)]
               if (m["ip"], m["port"]) != (target_of(ctx)["ip"], int(target_of(ctx)["port"]))]
    body = {"action": action, "coordinateDagId": ctx.generic_id,
            "allAgents": list({peer.address(m): m for m in members}.values()), **extra}
    if ctx.params.get("removeData"):
        body["removeData"] = True
    with peer_call(ctx, f"target {peer.address(target_of(ctx))}"):
        return peer.call(target_of(ctx), ctx.config, "POST", "/rpc/v1/ob/scale_in",
                         get_root_password() or "", body=body) or {}


def _skipped(ctx) -> bool:
    if ctx.params.get("forceKill"):
        ctx.log("force_kill: the agent's part is skipped (its host is presumed dead)")
        return True
    return False


def be_scaling_in(ctx) -> None:
    """The removed node's agent confirms with the cluster, then becomes SCALING IN."""
    if _skipped(ctx):
        return
    reply = _rpc(ctx, "begin")
    ctx.log(f"target {peer.address(target_of(ctx))} is {reply.get('identity')}")


def back_to_member(ctx) -> None:
    """Rollback: the removed node's agent is CLUSTER AGENT again, once the deletion is
    cancelled (done here first when this is the DAG's first rollback)."""
    cancel_delete_server(ctx)
    if _skipped(ctx):
        return
    reply = _rpc(ctx, "abort")
    ctx.log(f"target {peer.address(target_of(ctx))} is {reply.get('identity')}")


def wait_deleted(ctx) -> None:
    """OceanBase moves the server's replicas and units away first: DELETING until then."""
    ip, rpc_port, _, addr = _server(ctx)
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
    if row is None:
        ctx.log(f"server {addr} is gone from DBA_OB_SERVERS")
        return
    if row.status != "DELETING":
        raise TaskFailed(f"server {addr} is {row.status}, not DELETING: its deletion was "
                         "cancelled outside this DAG")
    wait(ctx, "deleting", f"waiting: server {addr} is DELETING for {int(ctx.waited_s())} s "
         "(OceanBase moves its replicas and units away first)")


def remove_agent(ctx) -> None:
    """Delete the removed agent's registry row (kept in the DAG's params for a rollback)."""
    ip, port = target_of(ctx)["ip"], int(target_of(ctx)["port"])
    model = registry.model_for(ctx.store)
    with ctx.store.connection():
        deleted = model.delete().where((model.ip == ip) & (model.port == port)).execute()
    ctx.log(f"registry: removed {deleted} row(s) for {ip}:{port}")


def restore_agent(ctx) -> None:
    """Rollback: the registry row as it was when the DAG was created."""
    row = ctx.params.get("registryRow")
    if not row:
        ctx.log("the agent had no registry row: nothing to restore")
        return
    registry.upsert(ctx.store, row)
    ctx.log(f"registry: restored {row['ip']}:{row['port']}")


def stop_and_leave(ctx) -> None:
    """The removed node's agent stops its observer and becomes SINGLE."""
    if _skipped(ctx):
        return
    kill = ctx.waited_s() >= float(ctx.config["OBSERVER_STOP_TIMEOUT_S"])
    reply = _rpc(ctx, "finish", kill=kill)
    if reply.get("identity") != IDENTITY_SINGLE:
        wait(ctx, f"leave:{reply.get('observerPid')}",
             f"waiting: target {peer.address(target_of(ctx))} is stopping observer pid "
             f"{reply.get('observerPid')}", delay=0.5)
    ctx.log(f"target {peer.address(target_of(ctx))} stopped its observer and is SINGLE; "
            + str(reply.get("dataDirs") or "its data directories are left in place"))


def nothing_after_leaving(ctx) -> None:
    ctx.log("nothing to undo here: an agent that left stays SINGLE")
