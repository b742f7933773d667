"""Which DAGs this agent shows, by its identity (wire spec §6.6), given a generic id."""
from __future__ import annotations

from typing import Any

from app.dag.engine import DagEngine
from app.dag.ids import not_found, parse, same_agent
from app.dag.template import SCOPE_AGENT, SCOPE_CLUSTER
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, AgentState


def _identity() -> str:
    return AgentState.load().identity


def _scope_of(engine: DagEngine, raw: str, kind: str) -> tuple[str, int]:
    """Parse a generic id and decide which scope it names; NotFound when not this agent's.

    A SCALING OUT target shows no cluster DAGs; a local id must carry this agent's address.
    """
    parsed = parse(raw, kind)
    if parsed.is_cluster:
        if _identity() == IDENTITY_SCALING_OUT:
            raise not_found()
        return SCOPE_CLUSTER, parsed.id
    if not same_agent(parsed, engine.settings["IP"], engine.settings["PORT"]):
        raise not_found()
    return SCOPE_AGENT, parsed.id


def dag_by_generic_id(engine: DagEngine, raw: str) -> Any:
    """The DAG a generic id names."""
    return engine.dag_in_scope(*reversed(_scope_of(engine, raw, "dag")))


def node_by_generic_id(engine: DagEngine, raw: str) -> tuple[Any, Any]:
    """The node a generic id names, with its DAG."""
    return engine.node_in_scope(*reversed(_scope_of(engine, raw, "node")))


def sub_task_by_generic_id(engine: DagEngine, raw: str) -> tuple[Any, Any]:
    """The sub-task a generic id names, with its DAG."""
    return engine.sub_task_in_scope(*reversed(_scope_of(engine, raw, "sub task")))


def unfinished_dags(engine: DagEngine, scopes: tuple[str, ...]) -> list[Any]:
    """Unfinished DAGs of these scopes; a SCALING OUT target has no cluster DAGs to show."""
    if SCOPE_CLUSTER in scopes and _identity() == IDENTITY_SCALING_OUT:
        scopes = tuple(s for s in scopes if s != SCOPE_CLUSTER)
    return engine.unfinished_dags(scopes)


def cluster_unfinished_dags(engine: DagEngine) -> list[Any]:
    """Unfinished cluster DAGs; none on an agent that is not a cluster member."""
    if _identity() != IDENTITY_CLUSTER_AGENT:
        return []
    return engine.unfinished_dags((SCOPE_CLUSTER,))
