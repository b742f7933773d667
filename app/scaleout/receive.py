"""Target side of POST /rpc/v1/ob/scale_out (spec/scale-out.md §4.1, wire spec §8.3)."""
from __future__ import annotations

import os
from typing import Any, Mapping

from app.node import identity as agent
from app.dag.engine import DagEngine
from app.dag.errors import LockHeld
from app.errors import ApiError
from app.models import IDENTITY_SINGLE
from app import peer
from app.scaleout import handshake, host_checks, membership, rules
from app.scaleout.service import require_identity
from app.scaleout.coordinator_remote import TARGET_MARK, UUID_MARK
from app.scaleout.templates import CLUSTER_SCALE_OUT, LOCAL_SCALE_OUT, TARGET_TEMPLATE
from app.security import keystore
from app.security.crypto import CryptoError, b64decode_strict, rsa_decrypt_blocks


def flat_reply(engine: DagEngine, dag, config: Mapping[str, Any]) -> dict[str, Any]:
    """The local DAG merged with the join fields and our gate positions."""
    reply = engine.views.dag_dto(dag, False)
    facts = membership.host_facts()
    reply.update({
        "joinApiParam": {"agentInfo": {"ip": "", "port": 0}, "zoneName": "", "masterPassword": ""},
        "home_path": config["HOME"], "version": config["AGENT_VERSION"], "os": facts["os"],
        "architecture": facts["architecture"], "public_key": facts["public_key"], "token": "",
        "paramWaitDeployRetryStage": handshake.WAIT_DEPLOY_RETRY_STAGE,
        "paramWaitStartRetryStage": handshake.WAIT_START_RETRY_STAGE,
    })
    return reply


def _same_request(holder, uuid: str) -> bool:
    return holder is not None and holder.name == LOCAL_SCALE_OUT and holder.lock_key == uuid


def _refuse_busy(engine: DagEngine, holder, config: Mapping[str, Any]) -> ApiError:
    me = f"{config['IP']}:{config['PORT']}"
    if holder is None:
        return ApiError("Agent.UnderMaintenance", f"{me} is under maintenance")
    return ApiError("Agent.UnderMaintenanceDag",
                    f"{me} is under maintenance by DAG "
                    f"[{engine.generic_id(holder, holder.id)}:{holder.name}]")


def _check_body(body: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    me = f"{config['IP']}:{config['PORT']}"
    require_identity(me, agent.get_identity().identity, IDENTITY_SINGLE)
    if os.path.normpath(body["dirs"]["homePath"]) != os.path.normpath(config["HOME"]):
        raise ApiError("Common.IllegalArgument", "Illegal argument: homePath in dirs")
    rules.check_rpc_configs(body["obConfigs"], body["zone"], int(config["PORT"]))
    rules.check_capacities_and_dirs({k: v for k, v in body["dirs"].items() if k != "homePath"})
    if body.get("targetVersion"):
        raise ApiError("Common.IllegalArgument", "Illegal argument: targetVersion must be empty; "
                       "this agent is never upgraded by a scale-out")


def _root_password(body: Mapping[str, Any]) -> str:
    store = keystore.current()
    try:
        return rsa_decrypt_blocks(store.private_key, b64decode_strict(body["rootPwd"])).decode("utf-8")
    except (CryptoError, ValueError, UnicodeDecodeError):
        raise ApiError("Common.IllegalArgument", "Illegal argument: rootPwd cannot be decrypted "
                       "with this agent's key") from None


def _refuse_unconfirmed(body: Mapping[str, Any], why: str) -> ApiError:
    return ApiError("Common.IllegalArgument", "Illegal argument: the scale-out cannot be confirmed "
                    f"with coordinator {peer.address(body['agentInfo'])} (DAG "
                    f"{body['coordinateDagId']}): {why}")


def confirm_with_coordinator(body: Mapping[str, Any], root_password: str,
                             config: Mapping[str, Any]) -> None:
    """Before this agent changes identity or stores a credential: the coordinator it names has
    that DAG, running, naming this agent and this uuid, and takes the root password sent."""
    me = f"{config['IP']}:{config['PORT']}"
    try:
        dag = peer.get_dag(body["agentInfo"], config, body["coordinateDagId"], root_password)
    except peer.PeerUnreachable as exc:
        raise _refuse_unconfirmed(body, f"unreachable ({exc.reason})") from None
    except peer.PeerRefused as exc:
        raise _refuse_unconfirmed(body, f"{exc.err_code}: {exc.message}") from None
    if dag.get("name") != CLUSTER_SCALE_OUT or dag.get("state") not in ("READY", "RUNNING"):
        raise _refuse_unconfirmed(body, f"it is '{dag.get('name')}' {dag.get('state')}, not a "
                                  "running cluster scale-out")
    marks = dag.get("additional_data") or {}  # the DAG's sub-tasks' data, merged
    if marks.get(TARGET_MARK) != me or marks.get(UUID_MARK) != body["uuid"]:
        raise _refuse_unconfirmed(body, f"it does not name {me} with this uuid")


def receive_scale_out(engine: DagEngine, body: dict[str, Any],
                      config: Mapping[str, Any]) -> dict[str, Any]:
    """Create the local DAG (or return the one this uuid already created)."""
    holder = engine.find_lock_holder("agent")
    if _same_request(holder, body["uuid"]):
        return flat_reply(engine, holder, config)
    if holder is not None:
        raise _refuse_busy(engine, holder, config)
    _check_body(body, config)
    root_password = _root_password(body)
    confirm_with_coordinator(body, root_password, config)
    params = {k: body[k] for k in ("agentInfo", "obConfigs", "zone", "allAgents", "dirs",
                                   "coordinateDagId", "uuid", "paramExpectDeployNextStage",
                                   "paramExpectStartNextStage", "paramExpectRollbackNextStage")}
    params["timeouts"] = body.get("timeouts") or {}
    try:
        # Only the request that wins the agent lock may record its coordinator's root password.
        dag = engine.create_dag(TARGET_TEMPLATE, params, lock_key=body["uuid"],
                                in_transaction=lambda _dag: agent.set_root_password(root_password))
    except LockHeld as held:
        if _same_request(held.holder, body["uuid"]):
            return flat_reply(engine, held.holder, config)
        raise _refuse_busy(engine, held.holder, config) from None
    return flat_reply(engine, dag, config)


def host_precheck(body: Mapping[str, Any], config: Mapping[str, Any]) -> list[dict[str, str]]:
    """The target's host checks for a planned scale-out; changes nothing."""
    configs = body["obConfigs"]
    rules.check_target_configs(configs, int(config["PORT"]))
    return host_checks.run_host_checks(config["IP"], config["HOME"], configs, body["dirs"],
                                     peer_time=lambda: peer.server_time(body["agentInfo"], config))
