"""Reading a store: rows by id within a scope, the maintenance DAG, the unfinished lists."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.dag.errors import NotFound
from app.dag.models import FAILED, READY, RUNNING
from app.dag.template import MAINTENANCE_GLOBAL

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore


def dag_in_scope(store: "DagStore", dag_id: int, scope: str) -> Any:
    """The DAG with that id and scope; NotFound otherwise."""
    dag = store.Dag.get_or_none(store.Dag.id == dag_id)
    if dag is None or dag.scope != scope:
        raise NotFound()
    return dag


def row_in_scope(store: "DagStore", model: type, row_id: int, scope: str) -> tuple[Any, Any]:
    """A node or sub-task row (of `model`) by id, with its DAG, within a scope."""
    row = model.get_or_none(model.id == row_id)
    if row is None:
        raise NotFound()
    return dag_in_scope(store, row.dag_id, scope), row


def sub_task_logs(store: "DagStore", sub_task: Any) -> list[Any]:
    """The sub-task's log entries, oldest first."""
    model = store.SubTaskLog
    return list(model.select().where(model.sub_task == sub_task.id).order_by(model.id))


def last_maintenance_dag(store: "DagStore", scope: str) -> Any | None:
    """The newest maintenance DAG of a scope, finished or not."""
    model = store.Dag
    return (model.select().where((model.scope == scope)
                                 & (model.maintenance_type == MAINTENANCE_GLOBAL))
            .order_by(model.id.desc()).first())


def unfinished_dags(store: "DagStore", scopes: tuple[str, ...]) -> list[Any]:
    """READY/RUNNING DAGs plus FAILED maintenance DAGs (which hold their lock), oldest first."""
    if not scopes:
        return []
    model = store.Dag
    active = model.state.in_([READY, RUNNING]) | (
        (model.state == FAILED) & (model.maintenance_type == MAINTENANCE_GLOBAL))
    return list(model.select().where(active & model.scope.in_(scopes)).order_by(model.id))


def recent_dags(store: "DagStore", scope: str, limit: int) -> list[Any]:
    """The newest `limit` DAGs of a scope, newest first."""
    model = store.Dag
    return list(model.select().where(model.scope == scope).order_by(model.id.desc()).limit(limit))
