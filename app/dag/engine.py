"""The engine's public face: create DAGs (rows + lock in one transaction), read, operate."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping

from app.dag import lock
from app.dag.dto import dag_dto, node_dto, sub_task_dto  # noqa: F401 - part of the engine API
from app.dag.lock import LockHeld  # noqa: F401 - part of the engine API
from app.dag.models import (MODE_EXECUTE, PENDING, READY, RUN, Dag, DagNode, SubTask, dumps)
from app.dag.operators import operate, operate_node  # noqa: F401 - part of the engine API
from app.dag.queue import dispatch, job_for
from app.dag.template import MAINTENANCE_GLOBAL, DagTemplate, NodeSpec
from app.db import database
from app.errors import ApiError

log = logging.getLogger(__name__)


def create_dag(template: DagTemplate, params: Mapping[str, Any], lock_key: str | None = None,
               in_transaction: Callable[[Dag], None] | None = None) -> Dag:
    """Insert the DAG, its nodes and sub-tasks and take the lock in one transaction; then enqueue.

    `in_transaction(dag)` runs inside that transaction, after the lock is taken: state that must
    be written only by the request that wins the lock goes there.
    """
    if database.in_transaction():
        raise RuntimeError("create_dag() must run outside a transaction (it enqueues after commit)")
    nodes = template.build(params)
    now = time.time()
    with database.atomic("IMMEDIATE"):
        if template.maintenance_type == MAINTENANCE_GLOBAL:
            lock.check_free(template.scope)
        dag = Dag.create(name=template.name, scope=template.scope, stage=1, max_stage=len(nodes),
                         maintenance_type=template.maintenance_type, state=READY, operator=RUN,
                         mode=MODE_EXECUTE, params=dumps(dict(params)),
                         context=dumps(dict(params)), lock_key=lock_key,
                         created_at=now, updated_at=now)
        first = _insert_nodes(dag, nodes, now)
        if template.maintenance_type == MAINTENANCE_GLOBAL:
            lock.take(template.scope, dag.id)
        if in_transaction is not None:
            in_transaction(dag)
    log.info("created DAG %s (%s, %d stages)", dag.id, dag.name, dag.max_stage)
    dispatch([job_for(first)])
    return dag


def _insert_nodes(dag: Dag, nodes: list[NodeSpec], now: float) -> SubTask:
    first = None
    for seq, spec in enumerate(nodes, start=1):
        node = DagNode.create(dag=dag.id, seq=seq, name=spec.name, state=PENDING, operator=RUN)
        for index, task in enumerate(spec.tasks):
            sub_task = SubTask.create(
                dag=dag.id, node=node.id, seq=index, name=task.name, state=PENDING,
                operator=RUN, ready_at=now if first is None else None,
                can_retry=task.can_retry, can_rollback=task.can_rollback,
                can_cancel=task.can_cancel, can_pass=task.can_pass)
            first = first or sub_task
    return first


def find_lock_holder(scope: str) -> Dag | None:
    """The DAG that holds the scope's maintenance lock, or None when it is free."""
    return lock.holder(scope)


def get_dag(dag_id: int) -> Dag:
    """The DAG row; 404 Task.NotFound when there is none."""
    dag = Dag.get_or_none(Dag.id == dag_id)
    if dag is None:
        raise ApiError("Task.NotFound", "Task not found")
    return dag


def cancel_requested(dag_id: int) -> bool:
    """True when CANCEL was requested and not yet honoured."""
    return bool(Dag.select(Dag.cancel_requested).where(Dag.id == dag_id).scalar())
