"""This agent's identity, cluster membership and secrets at rest (the AgentState row).

Short transactions only; every function opens a connection only if the thread has none.
Passwords are never returned by get_identity(), only whether one is recorded.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from app.db import connection, database
from app.models import (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN, IDENTITY_SCALING_OUT,
                        IDENTITY_SINGLE, IDENTITY_UNIDENTIFIED, AgentState)
from app.security import keystore, passwords
from app.security.keystore import KeyStore

IDENTITIES = (IDENTITY_SINGLE, IDENTITY_SCALING_OUT, IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN,
              IDENTITY_UNIDENTIFIED)
_MEMBERSHIP_FIELDS = ("zone", "cluster_name", "cluster_id", "mysql_port", "rpc_port")


@dataclass(frozen=True)
class Identity:
    """A snapshot of the AgentState row without its secrets."""

    identity: str
    zone: str
    cluster_name: str
    cluster_id: int
    mysql_port: int
    rpc_port: int
    has_root_password: bool
    has_agent_password: bool


def _snapshot(state: AgentState) -> Identity:
    return Identity(state.identity, state.zone, state.cluster_name, state.cluster_id,
                    state.mysql_port, state.rpc_port, state.root_password_enc is not None,
                    state.agent_password_hash is not None)


def get_identity() -> Identity:
    """The agent's identity, zone and cluster info."""
    with connection():
        return _snapshot(AgentState.load())


def _update(values: dict[str, Any], expect_identity: str | None = None) -> bool:
    """UPDATE the state row (created first if missing); False if `expect_identity` did not hold."""
    with connection(), database.atomic("IMMEDIATE"):
        AgentState.load()
        query = AgentState.update(updated_at=time.time(), **values).where(AgentState.id == 1)
        if expect_identity is not None:
            query = query.where(AgentState.identity == expect_identity)
        return query.execute() == 1


def set_identity(identity: str, expect_identity: str | None = None, **membership: Any) -> bool:
    """Set the identity and any of zone/cluster_name/cluster_id/mysql_port/rpc_port.

    With `expect_identity` this is a compare-and-set: it returns False (and changes nothing)
    unless the current identity is `expect_identity`.
    """
    if identity not in IDENTITIES:
        raise ValueError(f"unknown identity {identity!r}")
    unknown = set(membership) - set(_MEMBERSHIP_FIELDS)
    if unknown:
        raise TypeError(f"unknown identity fields: {sorted(unknown)}")
    return _update({"identity": identity, **membership}, expect_identity)


def clear_cluster_membership() -> None:
    """Back to SINGLE: no zone, no cluster, no root password (the agent password stays)."""
    _update({"identity": IDENTITY_SINGLE, "zone": "", "cluster_name": "", "cluster_id": 0,
             "mysql_port": 0, "rpc_port": 0, "root_password_enc": None})


def set_root_password(password: str, store: KeyStore | None = None) -> None:
    """Record the root@sys password, encrypted with the agent's own key."""
    sealed = passwords.encrypt_root_password(store or keystore.current(), password)
    _update({"root_password_enc": sealed})


def get_root_password(store: KeyStore | None = None) -> str | None:
    """The recorded root@sys password in clear, or None when none is recorded."""
    with connection():
        sealed = AgentState.load().root_password_enc
    if sealed is None:
        return None
    return passwords.decrypt_root_password(store or keystore.current(), sealed)


def clear_root_password() -> None:
    """Forget the root@sys password."""
    _update({"root_password_enc": None})


def set_agent_password(password: str) -> None:
    """Record the agent password as a salted hash."""
    if not password:
        raise ValueError("the agent password must not be empty")
    _update({"agent_password_hash": passwords.hash_agent_password(password)})


def clear_agent_password() -> None:
    """Remove the agent password."""
    _update({"agent_password_hash": None})


def verify_agent_password(password: str) -> bool:
    """Does `password` match the recorded agent password (False when none is set)?"""
    with connection():
        stored = AgentState.load().agent_password_hash
    return stored is not None and passwords.verify_agent_password(stored, password)
