"""Which DAGs this agent shows, by its identity (wire spec §6.6), given a generic id.

Cluster ids ("1<id>") name DAGs of the cluster store, which every CLUSTER AGENT reads alike;
local ids name this agent's own DAGs.
"""
from __future__ import annotations

from typing import Any

from app.dag.engine import DagEngine
from app.dag.ids import not_found, parse, same_agent
from app.dag.query import recent_dags as recent
from app.dag.template import SCOPE_AGENT, SCOPE_CLUSTER
from app.dags import Engines
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, AgentState


def _identity() -> str:
    return AgentState.load().identity


def sees_cluster_dags(engines: Engines) -> bool:
    """A SCALING OUT target shows no cluster DAGs; with the cluster store in OceanBase only a
    CLUSTER AGENT reads it."""
    identity = _identity()
    if identity == IDENTITY_SCALING_OUT:
        return False
    return identity == IDENTITY_CLUSTER_AGENT or not engines.shared


def _locate(engines: Engines, raw: str, kind: str) -> tuple[DagEngine, int, str]:
    """Parse a generic id: the engine that holds it, the row id and its scope; NotFound when
    it is not this agent's."""
    parsed = parse(raw, kind)
    if parsed.is_cluster:
        if not sees_cluster_dags(engines):
            raise not_found()
        return engines.cluster, parsed.id, SCOPE_CLUSTER
    if not same_agent(parsed, engines.agent.settings["IP"], engines.agent.settings["PORT"]):
        raise not_found()
    return engines.agent, parsed.id, SCOPE_AGENT


def dag_by_generic_id(engines: Engines, raw: str) -> tuple[DagEngine, Any]:
    """The engine and DAG a generic id names."""
    engine, obj_id, scope = _locate(engines, raw, "dag")
    return engine, engine.dag_in_scope(obj_id, scope)


def node_by_generic_id(engines: Engines, raw: str) -> tuple[DagEngine, Any, Any]:
    """The engine, DAG and node a generic id names."""
    engine, obj_id, scope = _locate(engines, raw, "node")
    return (engine, *engine.node_in_scope(obj_id, scope))


def sub_task_by_generic_id(engines: Engines, raw: str) -> tuple[DagEngine, Any, Any]:
    """The engine, DAG and sub-task a generic id names."""
    engine, obj_id, scope = _locate(engines, raw, "sub task")
    return (engine, *engine.sub_task_in_scope(obj_id, scope))


def unfinished_dags(engines: Engines, scopes: tuple[str, ...]) -> list[Any]:
    """Unfinished DAGs of these scopes, cluster DAGs first, each oldest first."""
    found: list[Any] = []
    if SCOPE_CLUSTER in scopes and sees_cluster_dags(engines):
        found += engines.cluster.unfinished_dags((SCOPE_CLUSTER,))
    if SCOPE_AGENT in scopes:
        found += engines.agent.unfinished_dags((SCOPE_AGENT,))
    if not engines.shared:  # one store: keep its own order (oldest first across both scopes)
        found.sort(key=lambda dag: dag.id)
    return found


def cluster_unfinished_dags(engines: Engines) -> list[Any]:
    """Unfinished cluster DAGs; none on an agent that is not a cluster member."""
    if _identity() != IDENTITY_CLUSTER_AGENT:
        return []
    return engines.cluster.unfinished_dags((SCOPE_CLUSTER,))


def last_cluster_maintenance(engines: Engines) -> Any | None:
    """The newest cluster maintenance DAG this agent can see."""
    if not sees_cluster_dags(engines):
        return None
    return engines.cluster.last_maintenance_dag(SCOPE_CLUSTER)


def recent_dags(engines: Engines, scope: str, limit: int) -> tuple[DagEngine, list[Any], Any]:
    """The engine, the newest `limit` DAGs of a scope (newest first) and the DAG holding that
    scope's maintenance lock (None when free). Cluster DAGs only on a CLUSTER AGENT, as for
    the unfinished list."""
    engine = engines.cluster if scope == SCOPE_CLUSTER else engines.agent
    if scope == SCOPE_CLUSTER and _identity() != IDENTITY_CLUSTER_AGENT:
        return engine, [], None
    return engine, recent(engine.store, scope, limit), engine.find_lock_holder(scope)
