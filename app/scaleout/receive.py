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
from app.scaleout.templates import LOCAL_SCALE_OUT, TARGET_TEMPLATE
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
