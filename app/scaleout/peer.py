"""Calls to the peer agent of a scale-out, with errors turned into what stages understand."""
from __future__ import annotations

import logging
from typing import Any, Mapping

from app.peer.client import AgentClient, AgentRequestError, AgentRequestFailed
from app.security.crypto import encrypt_for_peer, public_key_from_b64

log = logging.getLogger(__name__)

WITH_AGENT_PASSWORD = "Security.Authentication.WithAgentPassword"
WITH_OCEANBASE_PASSWORD = "Security.Authentication.WithOceanBasePassword"


class PeerUnavailable(Exception):
    """Transport failure: worth checking again later."""


class PeerError(Exception):
    """The peer answered with an error envelope."""

    def __init__(self, status: int, err_code: str, message: str):
        super().__init__(f"{err_code}: {message}")
        self.status = status
        self.err_code = err_code
        self.message = message


def address(agent: Mapping[str, Any]) -> str:
    return f"{agent['ip']}:{agent['port']}"


def client(agent: Mapping[str, Any], config: Mapping[str, Any]) -> AgentClient:
    return AgentClient(agent["ip"], int(agent["port"]), scheme=config["AGENT_SCHEME"],
                       timeout=float(config["AGENT_HTTP_TIMEOUT_S"]))


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AgentRequestFailed as exc:
        raise PeerUnavailable(exc.reason) from None
    except AgentRequestError as exc:
        raise PeerError(exc.status, exc.err_code, exc.message) from None


def info(agent: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    return _call(client(agent, config).info)


def server_time(agent: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    return _call(client(agent, config).time)


def encrypt_for(agent: Mapping[str, Any], config: Mapping[str, Any], plaintext: str) -> str:
    """RSA-encrypt plaintext under the peer's current public key (base64 of k-byte blocks)."""
    public_key = _call(client(agent, config).secret)["public_key"]
    return encrypt_for_peer(public_key_from_b64(public_key), plaintext)


def call(agent: Mapping[str, Any], config: Mapping[str, Any], method: str, path: str,
         password: str, body: Any = None, agent_password_enc: str | None = None) -> Any:
    """An authenticated call with the root password; a SINGLE peer that wants its agent
    password gets the agent header with the encrypted agent password instead."""
    peer = client(agent, config)
    try:
        return _call(peer.request, method, path, body=body, auth=password)
    except PeerError as exc:
        if exc.err_code != WITH_AGENT_PASSWORD or agent_password_enc is None:
            raise
    return _call(peer.request, method, path, body=body, auth=agent_password_enc, agent_header=True)


def scale_out_rpc(agent, config, agent_password_enc: str, root_password: str, body: dict) -> dict:
    """POST /rpc/v1/ob/scale_out with the agent header (Auth = encrypted agent password).

    A resend that reaches a target already SCALING OUT (it has our root password and no agent
    password) is answered WithOceanBasePassword: it then goes with the root password instead.
    """
    peer = client(agent, config)
    try:
        return _call(peer.request, "POST", "/rpc/v1/ob/scale_out", body=body,
                     auth=agent_password_enc, agent_header=True)
    except PeerError as exc:
        if exc.err_code != WITH_OCEANBASE_PASSWORD:
            raise
    return _call(peer.request, "POST", "/rpc/v1/ob/scale_out", body=body, auth=root_password)


def get_dag(agent, config, generic_id: str, password: str, agent_password_enc=None) -> dict:
    """The peer's DAG with details."""
    return call(agent, config, "GET", f"/api/v1/task/dag/{generic_id}", password,
                agent_password_enc=agent_password_enc)


def post_operator(agent, config, generic_id: str, operator: str, password: str,
                  agent_password_enc=None) -> None:
    call(agent, config, "POST", f"/api/v1/task/dag/{generic_id}", password,
         body={"operator": operator}, agent_password_enc=agent_password_enc)


def last_log(dag: Mapping[str, Any], node_idx: int | None = None) -> tuple[str, str]:
    """(node name, last log line) of the given node, or of the first FAILED node."""
    nodes = dag.get("nodes") or []
    chosen = None
    if node_idx is not None and node_idx < len(nodes):
        chosen = nodes[node_idx]
    else:
        chosen = next((n for n in nodes if n.get("state") == "FAILED"), None)
    if chosen is None:
        return "", ""
    for task in chosen.get("sub_tasks") or []:
        if task.get("task_logs"):
            return chosen.get("name", ""), task["task_logs"][-1]
    return chosen.get("name", ""), ""
