"""Target stages of 'Local scale out' (spec/scale-out.md §4.2)."""
from __future__ import annotations

from pathlib import Path

from app.node import identity as agent
from app.dag.template import TaskFailed
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, IDENTITY_SINGLE, AgentState
from app.ob.connection import session
from app.ob.errors import ObAuthError, ObError, ObTransientError
from app import peer
from app.scaleout import handshake, host_checks, membership
from app.scaleout.steps import peer_call, wait

COORDINATOR = "coordinator"


def coordinator(ctx) -> dict:
    return ctx.params["agentInfo"]


def _key(member: dict) -> tuple[str, int]:
    return str(member["ip"]), int(member["port"])


def coordinators(ctx) -> list[dict]:
    """The members that can answer for the cluster DAG (spec/cluster-store.md §6): the one that
    answered last, the one that sent the RPC, then the rest of the registry it sent."""
    order = [ctx.local.get("answering"), coordinator(ctx), *(ctx.params.get("allAgents") or [])]
    me = (str(ctx.config["IP"]), int(ctx.config["PORT"]))
    seen, members = {me}, []
    for member in order:
        if member and _key(member) not in seen:
            seen.add(_key(member))
            members.append({"ip": member["ip"], "port": int(member["port"])})
    return members


def on_coordinator(ctx, call):
    """call(member) on the first member that answers; PeerUnreachable when none does."""
    unreachable = None
    for member in coordinators(ctx):
        try:
            result = call(member)
        except peer.PeerUnreachable as exc:
            unreachable = exc
            continue
        if ctx.local.get("answering") != member:
            ctx.set_local("answering", member)
        return result
    raise unreachable or peer.PeerUnreachable("no cluster member is known")


def coordinator_name(ctx) -> str:
    """The members we poll, for log lines."""
    return f"{COORDINATOR} " + ", ".join(peer.address(m) for m in coordinators(ctx))


def coordinator_dag(ctx) -> dict:
    """The cluster DAG with details, from any member that answers, read with the root password
    the coordinator sent us (every member checks the same password)."""
    with peer_call(ctx, coordinator_name(ctx)):
        return on_coordinator(ctx, lambda member: peer.get_dag(
            member, ctx.config, ctx.params["coordinateDagId"], agent.get_root_password() or ""))


def post_to_coordinator(ctx, dag_id: str, operator: str) -> None:
    """POST an operator to the cluster DAG through any member that answers."""
    with peer_call(ctx, coordinator_name(ctx)):
        on_coordinator(ctx, lambda member: peer.post_operator(
            member, ctx.config, dag_id, operator, agent.get_root_password() or ""))


def _fail_if_coordinator_gave_up(dag: dict) -> None:
    if dag.get("state") == "FAILED" or dag.get("operator") == "ROLLBACK":
        raise TaskFailed(f"Task.DagFailed: coordinator DAG {dag.get('id')} is "
                         f"{dag.get('state')}/{dag.get('operator')} at stage {dag.get('stage')}")


def my_address(ctx) -> str:
    return f"{ctx.config['IP']}:{ctx.config['PORT']}"


def be_scaling_agent(ctx) -> None:
    """Stage 1: host prechecks, then identity SCALING OUT and our own registry row."""
    params = ctx.params
    ctx.set_data("scaleOutUUID", params["uuid"])
    checks = host_checks.run_host_checks(
        ctx.config["IP"], ctx.config["HOME"], params["obConfigs"], params["dirs"],
        peer_time=lambda: on_coordinator(ctx, lambda member: peer.server_time(member, ctx.config)))
    ctx.set_data("precheck", checks)
    for check in checks:
        if check["status"] != host_checks.PASS:
            ctx.log(f"precheck {check['name']}: {check['status']}: {check['observed']}")
    failures = host_checks.failed(checks)
    if failures:
        raise TaskFailed("precheck failed: " + "; ".join(
            f"{c['name']}: {c['observed']} ({c['hint']})" for c in failures))
    identity = AgentState.load().identity
    if identity != IDENTITY_SINGLE and not (identity == IDENTITY_SCALING_OUT
                                            and ctx.local.get("became_scaling_out")):
        raise TaskFailed(f"Agent.Identify.NotSupportOperation: identity is {identity}, not SINGLE")
    ctx.set_local("became_scaling_out", True)
    membership.become_scaling_out(params["zone"])
    ctx.log(f"{my_address(ctx)} is SCALING OUT into zone {params['zone']}")


def rollback_be_scaling_agent(ctx) -> None:
    """Back to SINGLE: zone cleared, root password forgotten."""
    membership.back_to_single()
    ctx.set_local("became_scaling_out", False)
    ctx.log(f"{my_address(ctx)} is SINGLE again; zone and root password cleared")


def _gate(ctx, expected_key: str) -> None:
    dag = coordinator_dag(ctx)
    expected = int(ctx.params[expected_key])
    _fail_if_coordinator_gave_up(dag)
    if int(dag.get("stage", 0)) < expected:
        wait(ctx, f"gate:{dag.get('stage')}",
             f"waiting: coordinator DAG {dag.get('id')} at stage {dag.get('stage')}, "
             f"need {expected}")
    ctx.set_data("main_dag_id", ctx.params["coordinateDagId"])
    ctx.log(f"coordinator DAG reached stage {dag.get('stage')}")


def deploy_gate(ctx) -> None:
    """Stage 2: wait until the coordinator is ready for the deployment."""
    _gate(ctx, "paramExpectDeployNextStage")


def start_gate(ctx) -> None:
    """Stage 4: wait until the coordinator is ready for the observer start."""
    _gate(ctx, "paramExpectStartNextStage")


def watch_cluster_dag(ctx) -> None:
    """Stage 6: follow C's DAG until it reaches its last stage."""
    dag = coordinator_dag(ctx)
    _note_add_server(ctx, dag)
    _fail_if_coordinator_gave_up(dag)
    if int(dag["stage"]) < int(dag["max_stage"]) and dag.get("state") != "SUCCEED":
        wait(ctx, f"watch:{dag['stage']}", f"waiting: coordinator DAG {dag['id']} at stage "
             f"{dag['stage']} of {dag['max_stage']}")
    ctx.log(f"coordinator DAG {dag['id']} reached its last stage")


def rolled_back_past(dag: dict, idx: int) -> bool:
    """True once C's rollback has undone node idx (or never had to)."""
    if dag.get("operator") == "ROLLBACK" and dag.get("state") == "SUCCEED":
        return True
    nodes = dag.get("nodes") or []
    if idx >= len(nodes):
        return True
    node = nodes[idx]
    if node.get("operator") == "ROLLBACK":
        return node.get("state") == "SUCCEED"
    return node.get("state") == "PENDING"


ADD_SERVER_NODE = "Add server for scale_out"
# In the watch sub-task's local data: the cluster DAG may have begun its ADD SERVER.
ADD_SERVER_SEEN = "addServerMayHaveRun"


def _note_add_server(ctx, dag: dict) -> None:
    """Remember (durably) once the cluster DAG has begun, or may have begun, its ADD SERVER:
    from then on the cluster may depend on this node."""
    if ctx.local.get(ADD_SERVER_SEEN):
        return
    node = next((n for n in dag.get("nodes") or [] if n.get("name") == ADD_SERVER_NODE), None)
    if node is None or node.get("state") != "PENDING" or dag.get("state") == "SUCCEED":
        ctx.set_local(ADD_SERVER_SEEN, True)


def rollback_watch(ctx) -> None:
    """Hold the observer stop until C has undone ADD SERVER and ADD/START ZONE.

    When no member of the cluster answers and the cluster DAG was never seen to begin its ADD
    SERVER, nothing of the cluster depends on this node (spec/cluster-store.md §6): the rollback
    goes on alone. This DAG got here FAILED, so its watch had already outlasted its budget.
    `obscale agent reset` on this host says so explicitly (rollbackAlone), after checking that
    the cluster does not list this node's server."""
    if ctx.params.get("rollbackAlone"):
        ctx.log("rolling back without the cluster DAG: `obscale agent reset` on this host found "
                "that the cluster does not list this node's server")
        return
    try:
        dag = on_coordinator(ctx, lambda member: peer.get_dag(
            member, ctx.config, ctx.params["coordinateDagId"], agent.get_root_password() or ""))
    except peer.PeerUnreachable as exc:
        if not ctx.local.get(ADD_SERVER_SEEN):
            ctx.log(f"no member of the cluster answers ({exc.reason}) and the cluster DAG never "
                    "began adding this server: rolling back without it")
            return
        wait(ctx, "rb:unreachable", f"waiting: {coordinator_name(ctx)} unreachable ({exc.reason}); "
             "the cluster may hold this server, so its own rollback must come first")
    except peer.PeerRefused as exc:
        with peer_call(ctx, coordinator_name(ctx)):
            raise exc
    _note_add_server(ctx, dag)
    if dag.get("state") == "SUCCEED" and dag.get("operator") != "ROLLBACK":
        raise TaskFailed(f"Task.DagFailed: coordinator DAG {dag.get('id')} succeeded: this node is "
                         "a server of the cluster now and cannot be rolled back from here")
    if dag.get("operator") != "ROLLBACK":
        if dag.get("state") == "FAILED":
            post_to_coordinator(ctx, dag["id"], "ROLLBACK")
        wait(ctx, "rb:propagate", f"waiting: coordinator DAG {dag['id']} is "
             f"{dag['state']}/{dag['operator']}, not rolling back yet")
    idx = handshake.node_index(ctx.params["paramExpectRollbackNextStage"])
    if not rolled_back_past(dag, idx):
        wait(ctx, f"rb:{dag.get('stage')}", f"waiting: coordinator rollback has not yet undone "
             f"the cluster changes (DAG {dag['id']} {dag['state']}/{dag['operator']})")
    ctx.log("coordinator has undone its cluster changes")


def sync_from_observer(ctx) -> None:
    """Stage 7: log in to our observer, pull the registry, become CLUSTER AGENT, wait for C."""
    params = ctx.params
    config = params["obConfigs"]
    try:
        with session(ctx.config["IP"], int(config["mysql_port"]), agent.get_root_password() or "",
                     ctx.config):
            pass
    except ObTransientError as exc:
        wait(ctx, "sync:login", f"waiting: local observer not answering ({exc})")
    except ObAuthError:
        wait(ctx, "sync:auth", "waiting: local observer does not accept the cluster root password yet")
    except ObError as exc:
        raise TaskFailed(f"MySQL error {exc}") from None
    if AgentState.load().identity != IDENTITY_CLUSTER_AGENT:
        _join_cluster(ctx, config)
    dag = coordinator_dag(ctx)
    if dag.get("operator") == "ROLLBACK":
        raise TaskFailed(f"Task.DagFailed: coordinator DAG {dag['id']} is rolling back")
    if dag.get("state") != "SUCCEED":
        wait(ctx, f"sync:{dag['state']}:{dag['stage']}",
             f"waiting: coordinator DAG {dag['state']} at stage {dag['stage']}")
    ctx.log(f"coordinator DAG {dag['id']} SUCCEED")


def _join_cluster(ctx, config: dict) -> None:
    who = coordinator_name(ctx)
    with peer_call(ctx, who):
        rows = on_coordinator(ctx, lambda member: peer.call(
            member, ctx.config, "GET", "/rpc/v1/agent/registry",
            agent.get_root_password() or ""))["contents"]
    me = next((r for r in rows if r["ip"] == ctx.config["IP"]
               and int(r["port"]) == int(ctx.config["PORT"])), None)
    if me is None:
        wait(ctx, "sync:registry", f"waiting: the coordinator's registry has no row for {my_address(ctx)}")
    membership.join_cluster(me["identity"], zone=ctx.params["zone"], cluster_name=config["cluster"],
                       cluster_id=int(config["cluster_id"]), mysql_port=int(config["mysql_port"]),
                       rpc_port=int(config["rpc_port"]))
    ctx.log(f"found our row among the cluster's {len(rows)} registered agent(s); identity is now "
            f"{me['identity']}")


def rollback_sync(ctx) -> None:
    """Identity back to SCALING OUT."""
    membership.become_scaling_out(ctx.params["zone"])
    ctx.log(f"{my_address(ctx)} is SCALING OUT again")


def observer_log_tail(home: str) -> str:
    """The last line of <home>/log/observer.log, for failure messages."""
    try:
        lines = (Path(home) / "log" / "observer.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""
