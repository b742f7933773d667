"""Identity changes a scale-out makes on the target, each in one short transaction.

The agent registry is not kept here: it is one table of the cluster store (app.scaleout.registry).
"""
from __future__ import annotations

import platform

from app.node import identity as agent
from app.db import connection, database
from app.models import IDENTITY_SCALING_OUT, AgentState
from app.security import keystore


def host_facts() -> dict[str, str]:
    """os, architecture and public key of this agent, for its registry row."""
    return {"os": platform.system().lower(), "architecture": platform.machine(),
            "public_key": keystore.current().public_key_b64}


def become_scaling_out(zone: str) -> None:
    """Identity SCALING OUT in `zone`."""
    with connection(), database.atomic("IMMEDIATE"):
        AgentState.load()
        AgentState.update(identity=IDENTITY_SCALING_OUT, zone=zone).where(AgentState.id == 1).execute()


def back_to_single() -> None:
    """SINGLE again: zone, cluster and root password cleared."""
    with connection(), database.atomic("IMMEDIATE"):
        agent.clear_cluster_membership()


def join_cluster(identity: str, zone: str, cluster_name: str, cluster_id: int, mysql_port: int,
                 rpc_port: int) -> None:
    """Take the identity of our row in the cluster's registry."""
    with connection(), database.atomic("IMMEDIATE"):
        agent.set_identity(identity, zone=zone, cluster_name=cluster_name, cluster_id=cluster_id,
                           mysql_port=mysql_port, rpc_port=rpc_port)
