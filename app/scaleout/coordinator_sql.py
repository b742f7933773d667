"""Coordinator stages 6-11: prechecks, ADD/START ZONE, ADD SERVER, registry, truthful readiness."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from app.dag.template import TaskFailed
from app.models import IDENTITY_CLUSTER_AGENT
from app.ob import sql
from app.ob.connection import long_statement_session
from app.ob.errors import (OB_ENTRY_EXIST, OB_OP_NOT_ALLOW, OB_TIMEOUT, OB_ZONE_STATUS_NOT_MATCH,
                           ObError, ObTransientError, answer_lost)
from app import peer
from app.scaleout import handshake, registry
from app.scaleout.coordinator_remote import post_to_target, remote_dag, target_name, target_of
from app.scaleout.steps import last_log, local_ob, peer_call, wait

# Errors that may mean "already done": believed only after a fresh read shows the wanted state.
ALREADY_DONE_CODES = (OB_ENTRY_EXIST, OB_ZONE_STATUS_NOT_MATCH)
SQL_BUDGET = "SCALE_OUT_SQL_TIMEOUT_S"
DELETE_SERVER_BUDGET = "SCALE_OUT_DELETE_SERVER_TIMEOUT_S"
ADD_SERVER = "ADD SERVER"


@dataclass(frozen=True)
class Alter:
    """One ALTER SYSTEM statement of a stage."""

    verb: str                                  # "ADD SERVER": names it in logs and in local data
    send: Callable[[Any], None]                # runs it on a session
    done: Callable[[Any], bool]                # a fresh read shows its effect
    budget: str = SQL_BUDGET                   # the stage's budget: the statement's ob_query_timeout
    in_flight_codes: tuple[int, ...] = ()      # after a lost answer: "the first one is still at it"


def _zone(ctx) -> str:
    return ctx.params["zone"]


def _ip_port(ctx) -> tuple[str, int]:
    return target_of(ctx)["ip"], int(ctx.params["config"]["rpc_port"])


def prev_check(ctx) -> None:
    """Stage 6: the zone is as it was at creation and the server is still absent."""
    ip, rpc_port = _ip_port(ctx)
    with local_ob(ctx) as conn:
        exists = sql.zone_count(conn, _zone(ctx)) > 0
        row = sql.server_row(conn, ip, rpc_port)
    if exists == bool(ctx.params["isNewZone"]):
        raise TaskFailed(f"zone has been changed: zone {_zone(ctx)} "
                         f"{'now exists' if exists else 'no longer exists'}")
    if row is not None:
        raise TaskFailed(f"Agent.AlreadyExists: server {ip}:{rpc_port} is already in zone {row.zone}")
    ctx.log(f"zone {_zone(ctx)} {'exists' if exists else 'will be created'}; "
            f"server {ip}:{rpc_port} is not in the cluster")


def _act(ctx, conn, alter: Alter) -> None:
    """Send `alter` on its own session whose ob_query_timeout is the stage's budget.

    A lost answer (4012, or none at all) fails nothing, and this execution of the stage never
    sends the statement again: it waits, and each check reads first (the caller), so the effect
    is found once it lands. Only a later execution (RETRY) that still finds no effect sends it
    again. An 'already done' error counts only if a fresh read confirms it.
    """
    budget = float(ctx.config[alter.budget])
    lost = ctx.local.get(f"lost:{alter.verb}")
    if lost and lost["execution"] == _execution(ctx):
        _wait_for_lost_answer(ctx, alter, lost)
    try:
        with long_statement_session(conn, ctx.config, budget) as session:
            _send(ctx, session, alter)
    except ObTransientError:
        raise
    except ObError as exc:
        in_flight = bool(lost) and exc.code in alter.in_flight_codes
        if (exc.code in ALREADY_DONE_CODES or in_flight) and alter.done(conn):
            ctx.log(f"OceanBase answered {exc.code}, and a fresh read shows it is done")
        elif in_flight:
            _wait_for_lost_answer(ctx, alter, _lose_answer(ctx, alter, lost["code"], exc.code))
        else:
            raise TaskFailed(f"MySQL error {exc}") from None
    if lost:
        ctx.set_local(f"lost:{alter.verb}", None)


def _send(ctx, session, alter: Alter) -> None:
    try:
        alter.send(session)
    except ObTransientError as exc:
        if answer_lost(exc):
            _wait_for_lost_answer(ctx, alter, _lose_answer(ctx, alter, exc.code))
        raise


def _execution(ctx) -> int:
    """Which execution of the sub-task this is (a RETRY starts a new one; a takeover does not)."""
    model = ctx.store.SubTask
    return int(model.select(model.execute_times).where(model.id == ctx.sub_task_id).scalar())


def _lose_answer(ctx, alter: Alter, code: int, refused: int = 0) -> dict:
    """Record (durably, for a RETRY and for another member taking over) that `alter` may still
    land, and that this execution must not send it again."""
    lost = {"at": ctx.store.now(), "execution": _execution(ctx), "code": code, "refused": refused}
    ctx.set_local(f"lost:{alter.verb}", lost)
    return lost


def _wait_for_lost_answer(ctx, alter: Alter, lost: dict):
    code = lost["code"]
    what = "timed out (4012)" if code == OB_TIMEOUT else f"lost its answer ({code})"
    if lost.get("refused"):
        what = (f"answered {lost['refused']} after an earlier attempt {what}, and that attempt's "
                "effect does not show yet")
    wait(ctx, f"lost:{alter.verb}:{lost['at']}",
         f"waiting: ALTER SYSTEM {alter.verb} {what}; RootService may still be at it, so it is "
         "read again, not sent again")


def add_zone(ctx) -> None:
    """Stage 7 (new zone): ADD ZONE unless the zone is there."""
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        if sql.zone_status(conn, zone) is not None:
            if ctx.params.get("addZoneAttempted"):
                ctx.set("zoneCreatedByDag", True)
            ctx.log(f"zone {zone} exists")
            return
        ctx.set("addZoneAttempted", True)
        _act(ctx, conn, Alter("ADD ZONE", lambda c: sql.add_zone(c, zone),
                              lambda c: sql.zone_status(c, zone) is not None))
    ctx.set("zoneCreatedByDag", True)
    ctx.log(f"ALTER SYSTEM ADD ZONE {zone}: done")


def start_zone(ctx) -> None:
    """Stage 8 (new zone): START ZONE unless it is ACTIVE."""
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        status = sql.zone_status(conn, zone)
        if status is None:
            raise TaskFailed(f"Zone info '{zone}' not exist")
        if status == "ACTIVE":
            ctx.log(f"zone {zone} is ACTIVE")
            return
        _act(ctx, conn, Alter("START ZONE", lambda c: sql.start_zone(c, zone),
                              lambda c: sql.zone_status(c, zone) == "ACTIVE"))
    ctx.log(f"ALTER SYSTEM START ZONE {zone}: done")


def add_server(ctx) -> None:
    """Stage 7/9: ADD SERVER at most once; a lost answer is recognised by the next read."""
    ip, rpc_port = _ip_port(ctx)
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
        if row is not None:
            if row.zone != zone:
                raise TaskFailed(f"server {ip}:{rpc_port} is in zone {row.zone}, not {zone}")
            if ctx.params.get("addServerAttempted"):
                ctx.set("addServerSucceed", True)
            landed = " (the ADD SERVER whose answer was lost has landed)" if ctx.local.get(
                f"lost:{ADD_SERVER}") else ""
            ctx.log(f"server {ip}:{rpc_port} is in zone {zone}{landed}")
            return
        if not ctx.params.get("addServerAttempted"):
            ctx.set("addServerAttempted", True)
        # 4179 after an attempt whose answer was lost may be that attempt still running (or the
        # server it left non-empty): believed only once a fresh read shows the row in `zone`.
        _act(ctx, conn, Alter(ADD_SERVER, lambda c: sql.add_server(c, ip, rpc_port, zone),
                              lambda c: getattr(sql.server_row(c, ip, rpc_port), "zone", None) == zone,
                              in_flight_codes=(OB_OP_NOT_ALLOW,)))
    ctx.set("addServerSucceed", True)
    ctx.log(f"ALTER SYSTEM ADD SERVER '{sql.server_address(ip, rpc_port)}' ZONE '{zone}': done")


def intended_registry_row(ctx) -> dict:
    params = ctx.params
    join = params.get("joinMasterInfo") or {}
    return {"ip": target_of(ctx)["ip"], "port": int(target_of(ctx)["port"]),
            "identity": IDENTITY_CLUSTER_AGENT, "zone": _zone(ctx),
            "mysql_port": int(params["config"]["mysql_port"]),
            "rpc_port": int(params["config"]["rpc_port"]),
            "home_path": join.get("home_path") or params["dirs"]["homePath"],
            "version": join.get("version", ""), "os": join.get("os", ""),
            "architecture": join.get("architecture", ""), "public_key": join.get("public_key", ""),
            "dag_id": ctx.generic_id}


def add_agent(ctx) -> None:
    """Stage 8/10: upsert the target's row of the registry (the cluster store's table)."""
    row = intended_registry_row(ctx)
    registry.upsert(ctx.store, row)
    ctx.log(f"registry: {row['ip']}:{row['port']} is a CLUSTER AGENT in zone {row['zone']}")


def rollback_add_agent(ctx) -> None:
    ip, port = target_of(ctx)["ip"], int(target_of(ctx)["port"])
    deleted = registry.remove(ctx.store, ip, port, ctx.generic_id)
    ctx.log(f"registry: removed {deleted} row(s) for {ip}:{port}")


def check_finished(ctx) -> None:
    """Last stage: the server truly serves and the target reports CLUSTER AGENT.

    additional_data.readiness reads "unverified" until both hold, so a DAG that an operator
    PASSes at this stage says so; it becomes "verified" when the stage succeeds. The target's
    identity is recorded too: PASS is allowed only once it is CLUSTER AGENT.
    """
    ip, rpc_port = _ip_port(ctx)
    if ctx.data.get("readiness") != "unverified":
        ctx.set_data("readiness", "unverified")
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
    if row is None or row.status == "DELETING":
        raise TaskFailed(f"server {ip}:{rpc_port} is {'missing' if row is None else 'DELETING'} "
                         "in DBA_OB_SERVERS")
    with peer_call(ctx, target_name(ctx)):
        identity = peer.info(target_of(ctx), ctx.config).get("identity")
    if ctx.data.get("targetIdentity") != identity:
        ctx.set_data("targetIdentity", identity)
    if identity != IDENTITY_CLUSTER_AGENT:
        _nudge_target(ctx)
        wait(ctx, f"identity:{identity}", f"waiting: target identity is {identity}")
    if not row.serving:
        _nudge_target(ctx)
        wait(ctx, f"serve:{_why_not_serving(row)}",
             f"waiting: {_why_not_serving(row)} for {int(ctx.waited_s())} s")
    ctx.set_data("readiness", "verified")
    ctx.log(f"server {ip}:{rpc_port} serves (START_SERVICE_TIME {row.start_service_time}) "
            f"and {target_name(ctx)} is CLUSTER AGENT")


def _nudge_target(ctx) -> None:
    """A target whose watch failed while we were FAILED is retried (a RETRY it does not pass
    back); a failure of any other stage is the target's own and fails this stage with its reason.

    A target DAG that its operator cancelled or rolls back will never join: this stage fails at
    once (rather than wait out the serving budget), and the target's rollback, which waits for
    ours, finds this DAG FAILED and rolls it back too."""
    dag = remote_dag(ctx)
    if dag.get("operator") in ("CANCEL", "ROLLBACK"):
        raise TaskFailed(f"Task.RemoteTask.Failed: {target_name(ctx)} DAG {dag.get('id')} is "
                         f"{dag.get('state')}/{dag.get('operator')}: its operator gave it up, so "
                         "this scale-out cannot finish; roll this DAG back")
    if dag.get("state") != "FAILED":
        return
    failed_at = next((i for i, n in enumerate(dag.get("nodes") or []) if n["state"] == "FAILED"), -1)
    watch_idx = handshake.watch_node(ctx.params["waitStartRetryStage"])
    if dag.get("operator") != "RUN" or failed_at != watch_idx:
        name, line = last_log(dag)
        raise TaskFailed(f"Task.RemoteTask.Failed: {target_name(ctx)} DAG {dag.get('id')} "
                         f"failed at '{name}': {line or 'no log'}")
    post_to_target(ctx, dag["id"], "RETRY")
    ctx.log(f"sent RETRY to {target_name(ctx)} DAG {dag['id']}: it had stopped watching us")


def pass_guard(dag, store) -> str | None:
    """PASS waives only the serving wait: the target must already report CLUSTER AGENT."""
    model = store.SubTask
    last = model.select().where(model.dag == dag.id).order_by(model.id.desc()).first()
    data = json.loads(last.additional_data or "{}") if last is not None else {}
    if data.get("targetIdentity") != IDENTITY_CLUSTER_AGENT:
        seen = data.get("targetIdentity") or "not checked yet"
        return f"the target has not reported CLUSTER AGENT (identity: {seen})"
    return None


def _why_not_serving(row) -> str:
    if row.status != "ACTIVE":
        return f"STATUS is {row.status}"
    if row.stop_time is not None:
        return "STOP_TIME is set"
    return "START_SERVICE_TIME is NULL"


def rollback_add_server(ctx) -> None:
    """Undo ADD SERVER only if this DAG added it; wait until the row is gone."""
    if not ctx.params.get("addServerSucceed") and not ctx.params.get("addServerAttempted"):
        ctx.log("nothing to undo: this DAG did not add the server")
        return
    ip, rpc_port = _ip_port(ctx)
    zone = _zone(ctx)
    with local_ob(ctx) as conn:
        row = sql.server_row(conn, ip, rpc_port)
        if row is None:
            ctx.log(f"server {ip}:{rpc_port} is gone")
            ctx.set("addServerSucceed", False)
            return
        if row.zone != zone:
            ctx.log(f"server {ip}:{rpc_port} is in zone {row.zone}, not {zone}: "
                    "this DAG did not add it, so it is left alone")
            return
        if row.status != "DELETING":
            _act(ctx, conn, Alter("DELETE SERVER", lambda c: sql.delete_server(c, ip, rpc_port, zone),
                                  lambda c: True, budget=DELETE_SERVER_BUDGET))
            ctx.log(f"ALTER SYSTEM DELETE SERVER '{sql.server_address(ip, rpc_port)}' ZONE '{zone}'")
    wait(ctx, "delete-server", f"waiting: server {ip}:{rpc_port} is still DELETING", delay=0.5)


def _undo_zone(ctx, needed, statement, done, verb: str) -> bool:
    """Run `statement` on a zone this DAG created, only while `needed(status)` holds."""
    zone = _zone(ctx)
    if not ctx.params.get("zoneCreatedByDag"):
        ctx.log(f"nothing to undo: zone {zone} was not created by this DAG")
        return False
    with local_ob(ctx) as conn:
        status = sql.zone_status(conn, zone)
        if not needed(status):
            ctx.log(f"zone {zone} is {status or 'gone'}: nothing to {verb}")
            return True
        _act(ctx, conn, Alter(f"{verb.upper()} ZONE", lambda c: statement(c, zone),
                              lambda c: done(sql.zone_status(c, zone))))
    ctx.log(f"ALTER SYSTEM {verb.upper()} ZONE {zone}: done")
    return True


def rollback_start_zone(ctx) -> None:
    """STOP ZONE only for a zone this DAG created and only when it is ACTIVE."""
    _undo_zone(ctx, lambda s: s == "ACTIVE", sql.stop_zone, lambda s: s != "ACTIVE", "stop")


def rollback_add_zone(ctx) -> None:
    """DELETE ZONE only for a zone this DAG created and only when it exists."""
    if _undo_zone(ctx, lambda s: s is not None, sql.delete_zone, lambda s: s is None, "delete"):
        ctx.update({"zoneCreatedByDag": False, "addZoneAttempted": False})
