"""Calls to a peer agent named by {ip, port}, with this agent's scheme and timeout settings.

They raise what AgentClient raises: PeerUnreachable or PeerRefused.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.peer.client import AgentClient
from app.peer.errors import PeerRefused
from app.security.crypto import encrypt_for_peer, public_key_from_b64

WITH_AGENT_PASSWORD = "Security.Authentication.WithAgentPassword"
WITH_OCEANBASE_PASSWORD = "Security.Authentication.WithOceanBasePassword"


def address(agent: Mapping[str, Any]) -> str:
    """ip:port of a peer, as stage logs name it."""
    return f"{agent['ip']}:{agent['port']}"


def client_for(agent: Mapping[str, Any], config: Mapping[str, Any]) -> AgentClient:
    """An AgentClient for the peer with this agent's scheme and HTTP timeout."""
    return AgentClient(agent["ip"], int(agent["port"]), scheme=config["AGENT_SCHEME"],
                       timeout=float(config["AGENT_HTTP_TIMEOUT_S"]))


def info(agent: Mapping[str, Any], config: Mapping[str, Any]) -> dict:
    """The peer's GET /api/v1/info."""
    return client_for(agent, config).info()


def server_time(agent: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """The peer's clock (GET /api/v1/time)."""
    return client_for(agent, config).time()


def encrypt_for(agent: Mapping[str, Any], config: Mapping[str, Any], plaintext: str) -> str:
    """RSA-encrypt plaintext under the peer's current public key (base64 of k-byte blocks)."""
    public_key = client_for(agent, config).secret()["public_key"]
    return encrypt_for_peer(public_key_from_b64(public_key), plaintext)


def call(agent: Mapping[str, Any], config: Mapping[str, Any], method: str, path: str,
         password: str, body: Any = None, agent_password_enc: str | None = None) -> Any:
    """An authenticated call with the root password; a SINGLE peer that wants its agent
    password gets the agent header with the encrypted agent password instead."""
    peer = client_for(agent, config)
    try:
        return peer.request(method, path, body=body, auth=password)
    except PeerRefused as exc:
        if exc.err_code != WITH_AGENT_PASSWORD or agent_password_enc is None:
            raise
    return peer.request(method, path, body=body, auth=agent_password_enc, agent_header=True)


def scale_out_rpc(agent, config, agent_password_enc: str, root_password: str, body: dict) -> dict:
    """POST /rpc/v1/ob/scale_out with the agent header (Auth = encrypted agent password).

    A resend that reaches a target already SCALING OUT (it has our root password and no agent
    password) is answered WithOceanBasePassword: it then goes with the root password instead.
    """
    peer = client_for(agent, config)
    try:
        return peer.request("POST", "/rpc/v1/ob/scale_out", body=body, auth=agent_password_enc,
                            agent_header=True)
    except PeerRefused as exc:
        if exc.err_code != WITH_OCEANBASE_PASSWORD:
            raise
    return peer.request("POST", "/rpc/v1/ob/scale_out", body=body, auth=root_password)


def get_dag(agent, config, generic_id: str, password: str, agent_password_enc=None) -> dict:
    """The peer's DAG with details."""
    return call(agent, config, "GET", f"/api/v1/task/dag/{generic_id}", password,
                agent_password_enc=agent_password_enc)


def post_operator(agent, config, generic_id: str, operator: str, password: str,
                  agent_password_enc=None) -> None:
    """POST an operator (RETRY, ROLLBACK, ...) to the peer's DAG, passed on from ours: the
    peer applies it without passing it back (`propagate: false`)."""
    call(agent, config, "POST", f"/api/v1/task/dag/{generic_id}", password,
         body={"operator": operator, "propagate": False}, agent_password_enc=agent_password_enc)
