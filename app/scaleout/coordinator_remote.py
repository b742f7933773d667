"""Coordinator stages 1-5: integrate the config, create the target's DAG, follow it to 'started'."""
from __future__ import annotations

from app.node.identity import get_root_password
from app.dag.template import TaskFailed
from app.ob import sql
from app import peer
from app.scaleout import handshake, registry
from app.scaleout.rules import DIR_KEYS, check_ports, dirs_for
from app.scaleout.steps import last_log, local_ob, node_at, peer_call, wait


def target_of(ctx) -> dict:
    return ctx.params["agentInfo"]


def target_name(ctx) -> str:
    return f"target {peer.address(target_of(ctx))}"


def integrate_config(ctx) -> None:
    """Stage 1: cluster name/id from OB, ports with defaults, directories moved into dirs."""
    params = ctx.params
    if "dirs" in params:  # a re-run after the result was stored: the config is integrated
        ctx.log(f"config already integrated: data_dir {params['dirs']['data_dir']}")
        return
    with local_ob(ctx) as conn:
        cluster = sql.parameter(conn, "cluster")
        cluster_id = sql.parameter(conn, "cluster_id")
    if not cluster or not cluster_id:
        raise TaskFailed("cannot read 'cluster' and 'cluster_id' from V$OB_PARAMETERS")
    config = dict(params["config"])
    mysql_port, rpc_port = check_ports(config, int(target_of(ctx)["port"]))
    config.update(zone=params["zone"], cluster=cluster, cluster_id=cluster_id,
                  mysql_port=str(mysql_port), rpc_port=str(rpc_port))
    dirs = dirs_for(config, config.pop("homePath"))
    for key in DIR_KEYS:
        config.pop(key, None)
    ctx.update({"config": config, "dirs": dirs})
    ctx.log(f"cluster {cluster} (id {cluster_id}); {target_name(ctx)} will serve "
            f"mysql_port {mysql_port}, rpc_port {rpc_port}, data_dir {dirs['data_dir']}")


def all_agents(ctx, me: dict) -> list[dict]:
    """Every member of the registry, this one first: the target may poll any of them (each
    serves the cluster id from the cluster store)."""
    others = [m for m in registry.addresses(ctx.store)
              if (m["ip"], m["port"]) != (me["ip"], me["port"])]
    return [me, *others] if ctx.store.shared else [me]


def rpc_body(ctx) -> dict:
    """The body of POST /rpc/v1/ob/scale_out (spec §3.8)."""
    params, config = ctx.params, ctx.config
    me = {"ip": config["IP"], "port": int(config["PORT"])}
    root_pwd = peer.encrypt_for(target_of(ctx), config, get_root_password() or "")
    return {
        "agentInfo": me, "obConfigs": params["config"], "zone": params["zone"],
        "targetVersion": "", "allAgents": all_agents(ctx, me), "dirs": params["dirs"],
        "coordinateDagId": ctx.generic_id, "rootPwd": root_pwd, "uuid": params["uuid"],
        "paramExpectDeployNextStage": handshake.EXPECT_DEPLOY_NEXT_STAGE,
        "paramExpectStartNextStage": handshake.EXPECT_START_NEXT_STAGE,
        "paramExpectRollbackNextStage": handshake.EXPECT_ROLLBACK_NEXT_STAGE,
        "timeouts": {
            "poll_interval_s": config["SCALE_OUT_POLL_INTERVAL_S"],
            "deploy_s": config["SCALE_OUT_DEPLOY_TIMEOUT_S"],
            "start_s": config["OBSERVER_START_TIMEOUT_S"],
            "start_wait_s": config["SCALE_OUT_START_WAIT_TIMEOUT_S"],
            "watch_s": config["SCALE_OUT_WATCH_TIMEOUT_S"],
        },
    }


TARGET_MARK, UUID_MARK = "scaleOutTarget", "scaleOutUUID"


def create_local_dag(ctx) -> None:
    """Stage 2: send the RPC (resends carry the same uuid, so T answers with the same DAG).

    First this stage names its target and uuid in its own additional_data: the target confirms
    the RPC against them before it changes anything (a forged RPC names no such DAG)."""
    mark = {TARGET_MARK: peer.address(target_of(ctx)), UUID_MARK: ctx.params["uuid"]}
    for key, value in mark.items():
        if ctx.data.get(key) != value:
            ctx.set_data(key, value)
    with peer_call(ctx, target_name(ctx)):
        reply = peer.scale_out_rpc(target_of(ctx), ctx.config, ctx.params["targetAgentPassword"],
                                   get_root_password() or "", rpc_body(ctx))
    join = {k: reply.get(k, "") for k in ("home_path", "version", "os", "architecture", "public_key")}
    # A target that leaves out its gate positions has obshell's.
    deploy_gate = reply.get("paramWaitDeployRetryStage", handshake.WAIT_DEPLOY_RETRY_STAGE)
    start_gate = reply.get("paramWaitStartRetryStage", handshake.WAIT_START_RETRY_STAGE)
    ctx.update({"coordinateDagId": str(reply["id"]),
                "waitDeployRetryStage": int(deploy_gate), "waitStartRetryStage": int(start_gate),
                "joinMasterInfo": join})
    ctx.log(f"{target_name(ctx)} created DAG {reply['id']} '{reply.get('name', '')}'")


def remote_dag(ctx) -> dict:
    """T's local DAG with details."""
    with peer_call(ctx, target_name(ctx)):
        return peer.get_dag(target_of(ctx), ctx.config, ctx.params["coordinateDagId"],
                            get_root_password() or "", ctx.params["targetAgentPassword"])


def post_to_target(ctx, dag_id: str, operator: str) -> None:
    """POST an operator to T's local DAG."""
    with peer_call(ctx, target_name(ctx)):
        peer.post_operator(target_of(ctx), ctx.config, dag_id, operator,
                           get_root_password() or "", ctx.params.get("targetAgentPassword"))


def _remote_failure(ctx, dag: dict, idx: int | None = None) -> TaskFailed:
    name, line = last_log(dag, idx)
    return TaskFailed(f"Task.RemoteTask.Failed: {target_name(ctx)} DAG {dag.get('id')} "
                      f"failed at '{name}': {line or 'no log'}")


def _fail_if_rolled_back(ctx, dag: dict, node: dict) -> None:
    """A SUCCEED node of a rolled-back (or rolling-back) target DAG is undone, not done."""
    if dag.get("operator") == "ROLLBACK" or node.get("operator") == "ROLLBACK":
        raise TaskFailed(f"Task.RemoteTask.Failed: {target_name(ctx)} DAG {dag.get('id')} is "
                         f"rolled back or rolling back ({dag.get('state')}/{dag.get('operator')})")


def wait_node(ctx, idx: int) -> None:
    """Succeed when T's node idx is SUCCEED; fail when it or T's DAG failed."""
    dag = remote_dag(ctx)
    node = node_at(dag, idx)
    _fail_if_rolled_back(ctx, dag, node)
    if node["state"] == "SUCCEED":
        ctx.log(f"{target_name(ctx)}: '{node['name']}' succeeded")
        return
    if node["state"] == "FAILED" or dag.get("state") == "FAILED":
        raise _remote_failure(ctx, dag, idx if node["state"] == "FAILED" else None)
    wait(ctx, f"node:{idx}:{node['state']}",
         f"waiting: {target_name(ctx)} '{node['name']}' is {node['state']}")


def wait_ready(ctx) -> None:
    """Stage 3: T's 'Be scaling agent' (the node before its deploy gate) succeeded."""
    wait_node(ctx, handshake.node_before_gate(ctx.params["waitDeployRetryStage"]))


def _pass_gate_then_wait(ctx, gate_idx: int, work_idx: int) -> None:
    dag = remote_dag(ctx)
    gate = node_at(dag, gate_idx)
    _fail_if_rolled_back(ctx, dag, gate)
    if gate["state"] == "FAILED" and dag.get("state") == "FAILED":
        # A Go target fails its gate when we are behind; RETRY lets it pass now.
        post_to_target(ctx, dag["id"], "RETRY")
        wait(ctx, f"gate:{gate_idx}:retry", f"waiting: sent RETRY to {target_name(ctx)} gate "
             f"'{gate['name']}'")
    if gate["state"] != "SUCCEED":
        wait(ctx, f"gate:{gate_idx}:{gate['state']}",
             f"waiting: {target_name(ctx)} gate '{gate['name']}' is {gate['state']}")
    work = node_at(dag, work_idx)
    _fail_if_rolled_back(ctx, dag, work)
    if work["state"] == "FAILED":
        name, line = last_log(dag, work_idx)
        raise TaskFailed(f"dag {dag['id']} {dag.get('name', '')} failed: [{name}] {line or 'no log'}")
    if work["state"] != "SUCCEED":
        wait(ctx, f"work:{work_idx}:{work['state']}",
             f"waiting: {target_name(ctx)} '{work['name']}' is {work['state']}")
    ctx.log(f"{target_name(ctx)}: '{work['name']}' succeeded")


def wait_deploy(ctx) -> None:
    """Stage 4: T's deploy gate passed and 'Create observer workdir' succeeded."""
    stage = int(ctx.params["waitDeployRetryStage"])
    _pass_gate_then_wait(ctx, handshake.node_index(stage), handshake.node_after_gate(stage))


def wait_start(ctx) -> None:
    """Stage 5: T's start gate passed and 'Start observer' succeeded."""
    stage = int(ctx.params["waitStartRetryStage"])
    _pass_gate_then_wait(ctx, handshake.node_index(stage), handshake.node_after_gate(stage))
