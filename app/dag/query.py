"""Reading DAGs by generic id (with the agent-identity rules of §6.6) and the list getters."""
from __future__ import annotations

from app.dag.ids import not_found, parse, same_agent
from app.dag.models import FAILED, READY, RUNNING, Dag, DagNode, SubTask, SubTaskLog
from app.dag.settings import engine_settings
from app.dag.template import MAINTENANCE_GLOBAL, SCOPE_AGENT, SCOPE_CLUSTER
from app.models import IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, AgentState


def _identity() -> str:
    return AgentState.load().identity


def _scope_of(raw: str, kind: str) -> tuple[str, int]:
    """Parse a generic id and decide which store it names; 404 when it is not this agent's."""
    parsed = parse(raw, kind)
    if parsed.is_cluster:
        if _identity() == IDENTITY_SCALING_OUT:
            raise not_found()
        return SCOPE_CLUSTER, parsed.id
    settings = engine_settings()
    if not same_agent(parsed, settings["IP"], settings["PORT"]):
        raise not_found()
    return SCOPE_AGENT, parsed.id


def _dag_in_scope(dag_id: int, scope: str) -> Dag:
    dag = Dag.get_or_none(Dag.id == dag_id)
    if dag is None or dag.scope != scope:
        raise not_found()
    return dag


def dag_by_generic_id(raw: str) -> Dag:
    """The DAG a generic id names."""
    scope, dag_id = _scope_of(raw, "dag")
    return _dag_in_scope(dag_id, scope)


def _row_by_generic_id(model: type[DagNode] | type[SubTask], raw: str,
                       kind: str) -> tuple[Dag, DagNode | SubTask]:
    scope, row_id = _scope_of(raw, kind)
    row = model.get_or_none(model.id == row_id)
    if row is None:
        raise not_found()
    return _dag_in_scope(row.dag_id, scope), row


def node_by_generic_id(raw: str) -> tuple[Dag, DagNode]:
    """The node a generic id names, with its DAG."""
    return _row_by_generic_id(DagNode, raw, "node")


def sub_task_by_generic_id(raw: str) -> tuple[Dag, SubTask]:
    """The sub-task a generic id names, with its DAG."""
    return _row_by_generic_id(SubTask, raw, "sub task")


def sub_task_logs(sub_task: SubTask) -> list[SubTaskLog]:
    """The sub-task's log entries, oldest first."""
    return list(SubTaskLog.select().where(SubTaskLog.sub_task == sub_task.id)
                .order_by(SubTaskLog.id))


def last_maintenance_dag(scope: str) -> Dag | None:
    """The newest maintenance DAG of a scope, finished or not."""
    return (Dag.select().where((Dag.scope == scope) & (Dag.maintenance_type == MAINTENANCE_GLOBAL))
            .order_by(Dag.id.desc()).first())


def unfinished_dags(scopes: tuple[str, ...]) -> list[Dag]:
    """READY/RUNNING DAGs plus FAILED maintenance DAGs (which hold their lock), oldest first."""
    if SCOPE_CLUSTER in scopes and _identity() == IDENTITY_SCALING_OUT:
        scopes = tuple(s for s in scopes if s != SCOPE_CLUSTER)
    if not scopes:
        return []
    active = Dag.state.in_([READY, RUNNING]) | (
        (Dag.state == FAILED) & (Dag.maintenance_type == MAINTENANCE_GLOBAL))
    return list(Dag.select().where(active & Dag.scope.in_(scopes)).order_by(Dag.id))


def cluster_unfinished_dags() -> list[Dag]:
    """Unfinished cluster DAGs; none on an agent that is not a cluster member."""
    if _identity() != IDENTITY_CLUSTER_AGENT:
        return []
    return unfinished_dags((SCOPE_CLUSTER,))
