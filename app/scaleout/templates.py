"""The two scale-out DAG templates and how they propagate operators to each other."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from app.node import identity as agent
from app.dag.template import DagTemplate, NodeSpec, TaskFailed, TaskSpec
from app.scaleout import coordinator_remote as remote
from app.scaleout import coordinator_sql as cluster
from app import peer
from app.scaleout import start_observer, target, workdir
from app.scaleout.steps import peer_call, wait

log = logging.getLogger(__name__)

CLUSTER_SCALE_OUT = "Cluster scale out"
LOCAL_SCALE_OUT = "Local scale out"


def _cfg(key: str):
    return lambda config: float(config[key])


SQL_BUDGET = _cfg("SCALE_OUT_SQL_TIMEOUT_S")


def _node(name: str, execute, rollback=None, budget=SQL_BUDGET, **flags) -> NodeSpec:
    return NodeSpec(name, [TaskSpec(name, execute, rollback, budget, **flags)])


def _target_rollback_budget(config) -> float:
    """T may still be in its observer health check when C rolls back, then it stops it."""
    return (float(config["OBSERVER_START_TIMEOUT_S"]) + float(config["OBSERVER_STOP_TIMEOUT_S"])
            + float(config["SCALE_OUT_DEPLOY_TIMEOUT_S"]))


def _nothing(ctx) -> None:
    ctx.log("nothing to undo")


def coordinator_nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
    """9 stages for an existing zone, 11 for a new one (spec/scale-out.md §3.2)."""
    nodes = [
        _node("Integrate server config", remote.integrate_config, _nothing),
        _node("Create local scale out dag", remote.create_local_dag, rollback_target_dag,
              _cfg("SCALE_OUT_RPC_TIMEOUT_S"), rollback_budget_s=_target_rollback_budget),
        _node("Wait scale out ready", remote.wait_ready, _nothing, _cfg("SCALE_OUT_READY_TIMEOUT_S")),
        _node("Wait remote deploy finish", remote.wait_deploy, _nothing,
              _cfg("SCALE_OUT_DEPLOY_TIMEOUT_S")),
        _node("Wait remote start finish", remote.wait_start, _nothing,
              _cfg("SCALE_OUT_START_WAIT_TIMEOUT_S")),
        _node("Prev check for scale_out", cluster.prev_check, _nothing),
    ]
    if params.get("isNewZone"):
        nodes += [_node("Add new zone for scale_out", cluster.add_zone, cluster.rollback_add_zone),
                  _node("Start new zone for scale_out", cluster.start_zone, cluster.rollback_start_zone)]
    nodes += [
        _node("Add server for scale_out", cluster.add_server, cluster.rollback_add_server,
              rollback_budget_s=_cfg("SCALE_OUT_DELETE_SERVER_TIMEOUT_S")),
        _node("Add agent for scale_out", cluster.add_agent, cluster.rollback_add_agent),
        _node("Check cluster scale_out whether finished", cluster.check_finished, _nothing,
              _cfg("SCALE_OUT_SERVING_TIMEOUT_S"), can_pass=True),
    ]
    return nodes


def target_nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
    """The 7 stages of 'Local scale out' (spec/scale-out.md §4.2)."""
    timeouts = params.get("timeouts") or {}

    def budget(key: str, setting: str):
        """The coordinator's budget, never above this agent's own setting."""
        return lambda config: min(float(timeouts.get(key) or config[setting]),
                                  float(config[setting]))

    return [
        _node("Be scaling agent", target.be_scaling_agent, target.rollback_be_scaling_agent),
        _node("Start preparations", target.deploy_gate, _nothing,
              budget("deploy_s", "SCALE_OUT_DEPLOY_TIMEOUT_S")),
        _node("Create observer workdir",
              lambda ctx: workdir.create(ctx, ctx.config["HOME"], ctx.params["dirs"]),
              lambda ctx: workdir.remove(ctx, ctx.config["HOME"])),
        _node("Start preparations", target.start_gate, _nothing,
              budget("start_wait_s", "SCALE_OUT_START_WAIT_TIMEOUT_S")),
        NodeSpec("Start observer", [TaskSpec(
            "Start observer", start_observer.start_observer, start_observer.stop_observer,
            budget("start_s", "OBSERVER_START_TIMEOUT_S"), prepare_retry=start_observer.prepare_retry,
            rollback_budget_s=start_observer.stop_budget_s)]),
        _node("Watch cluster scale_out dag", target.watch_cluster_dag, target.rollback_watch,
              budget("watch_s", "SCALE_OUT_WATCH_TIMEOUT_S")),
        _node("Sync from observer", target.sync_from_observer, target.rollback_sync,
              budget("watch_s", "SCALE_OUT_WATCH_TIMEOUT_S")),
    ]


def rollback_target_dag(ctx) -> None:
    """Coordinator stage 2 rollback: make T roll back its DAG and wait until it has."""
    dag_id = ctx.params.get("coordinateDagId") or _find_target_dag_by_uuid(ctx)
    if not dag_id:
        ctx.log(f"{remote.target_name(ctx)} has no DAG for this scale-out; nothing to undo")
        return
    ctx.set("coordinateDagId", dag_id)
    dag = remote.remote_dag(ctx)
    if dag.get("operator") == "ROLLBACK" and dag.get("state") == "SUCCEED":
        ctx.log(f"{remote.target_name(ctx)} rolled back DAG {dag_id}")
        return
    if dag.get("state") == "SUCCEED":
        raise TaskFailed(f"{remote.target_name(ctx)} DAG {dag_id} already succeeded; "
                         "it cannot be rolled back from here")
    if dag.get("state") == "FAILED":
        remote.post_to_target(ctx, dag_id, "ROLLBACK")
    wait(ctx, f"rb-target:{dag.get('state')}:{dag.get('operator')}",
         f"waiting: {remote.target_name(ctx)} DAG {dag_id} is {dag.get('state')}/{dag.get('operator')}")


def _find_target_dag_by_uuid(ctx) -> str | None:
    with peer_call(ctx, remote.target_name(ctx)):
        try:
            dag = peer.call(remote.target_of(ctx), ctx.config, "GET", "/api/v1/task/dag/maintain/agent",
                            agent.get_root_password() or "",
                            agent_password_enc=ctx.params.get("targetAgentPassword"))
        except peer.PeerRefused as exc:
            if exc.status == 404:
                return None
            if exc.status == 401:
                # A target that took this scale-out is SCALING OUT with our root password, and
                # accepts it; one that refuses both credentials never accepted anything of ours.
                ctx.log(f"{remote.target_name(ctx)} refuses this DAG's credentials "
                        f"({exc.err_code}): it never accepted this scale-out")
                return None
            raise
    if (dag.get("additional_data") or {}).get("scaleOutUUID") == ctx.params["uuid"]:
        return str(dag["id"])
    return None


def propagate_from_coordinator(ctx, operator: str) -> None:
    """RETRY: a FAILED target DAG is retried too. ROLLBACK: one best-effort nudge; stage 2's
    rollback insists later, after the cluster changes are undone."""
    dag_id = ctx.params.get("coordinateDagId")
    if not dag_id:
        return
    try:
        dag = peer.get_dag(remote.target_of(ctx), ctx.config, dag_id, agent.get_root_password() or "",
                           ctx.params.get("targetAgentPassword"))
        if dag.get("state") == "FAILED":
            peer.post_operator(remote.target_of(ctx), ctx.config, dag_id, operator,
                               agent.get_root_password() or "", ctx.params.get("targetAgentPassword"))
            ctx.log(f"sent {operator} to {remote.target_name(ctx)} DAG {dag_id}")
    except peer.PeerError as exc:
        if operator == "RETRY":
            raise TaskFailed(f"OB.Cluster.ScaleOutRetryCoordinateDagFailed: cannot retry "
                             f"{remote.target_name(ctx)} DAG {dag_id}: {exc.detail}") from None
        ctx.log(f"could not send ROLLBACK to {remote.target_name(ctx)} yet: {exc.detail}")


def propagate_from_target(ctx, operator: str) -> None:
    """Send RETRY/ROLLBACK to a FAILED coordinator DAG; a RUNNING one will notice by itself.

    When no member of the cluster answers, the operator goes on here alone: the stages that need
    the cluster wait for it themselves (the rollback of the watch holds the observer stop until
    the cluster has undone ADD SERVER, unless the cluster never began it)."""
    if ctx.params.get("rollbackAlone"):
        ctx.log(f"{operator} stays on this agent: `obscale agent reset` rolls it back alone")
        return
    try:
        dag = target.on_coordinator(ctx, lambda member: peer.get_dag(
            member, ctx.config, ctx.params["coordinateDagId"], agent.get_root_password() or ""))
    except peer.PeerUnreachable as exc:
        ctx.log(f"could not pass {operator} to the cluster DAG: no member answers ({exc.reason})")
        return
    except peer.PeerRefused:
        dag = target.coordinator_dag(ctx)  # the same refusal, mapped as every stage maps it
    if dag.get("state") != "FAILED":
        return
    target.post_to_coordinator(ctx, dag["id"], operator)
    ctx.log(f"sent {operator} to coordinator DAG {dag['id']}")


COORDINATOR_TEMPLATE = DagTemplate(CLUSTER_SCALE_OUT, coordinator_nodes, scope="cluster",
                                   propagate=propagate_from_coordinator,
                                   pass_guard=cluster.pass_guard)
TARGET_TEMPLATE = DagTemplate(LOCAL_SCALE_OUT, target_nodes, scope="agent",
                              propagate=propagate_from_target)
TEMPLATES = [COORDINATOR_TEMPLATE, TARGET_TEMPLATE]
