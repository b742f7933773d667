"""Identity and registry changes a scale-out makes on the target, each in one short transaction."""
from __future__ import annotations

import platform
from typing import Any, Iterable

from app.node import identity as agent
from app.db import connection, database
from app.models import IDENTITY_SCALING_OUT, REGISTRY_FIELDS, AgentState, RegistryAgent
from app.security import keystore


def host_facts() -> dict[str, str]:
    """os, architecture and public key of this agent, for its registry row."""
    return {"os": platform.system().lower(), "architecture": platform.machine(),
            "public_key": keystore.current().public_key_b64}


def _replace_registry(rows: Iterable[dict[str, Any]]) -> None:
    RegistryAgent.delete().execute()
    for row in rows:
        RegistryAgent.insert(**{k: row[k] for k in REGISTRY_FIELDS if k in row}).execute()


def become_scaling_out(zone: str, own_row: dict[str, Any]) -> None:
    """Identity SCALING OUT in `zone`, registry holding only our own row."""
    with connection(), database.atomic("IMMEDIATE"):
        AgentState.load()
        AgentState.update(identity=IDENTITY_SCALING_OUT, zone=zone).where(AgentState.id == 1).execute()
        _replace_registry([own_row])


def back_to_single() -> None:
    """SINGLE again: zone, cluster, registry and root password cleared."""
    with connection(), database.atomic("IMMEDIATE"):
        agent.clear_cluster_membership()
        RegistryAgent.delete().execute()


def join_cluster(identity: str, zone: str, cluster_name: str, cluster_id: int, mysql_port: int,
                 rpc_port: int, registry: list[dict[str, Any]]) -> None:
    """Take the identity from our registry row and the registry pulled from the coordinator."""
    with connection(), database.atomic("IMMEDIATE"):
        agent.set_identity(identity, zone=zone, cluster_name=cluster_name, cluster_id=cluster_id,
                           mysql_port=mysql_port, rpc_port=rpc_port)
        _replace_registry(registry)


def registry_rows() -> list[dict[str, Any]]:
    """The local registry as wire rows."""
    with connection():
        return [row.to_dict() for row in RegistryAgent.select().order_by(RegistryAgent.id)]


def upsert_registry_row(row: dict[str, Any]) -> None:
    """Insert or update one agent's row (pushed by a coordinator)."""
    values = {k: row[k] for k in REGISTRY_FIELDS if k in row}
    with connection():
        RegistryAgent.insert(**values).on_conflict(
            conflict_target=[RegistryAgent.ip, RegistryAgent.port],
            update={getattr(RegistryAgent, k): v for k, v in values.items()}).execute()

