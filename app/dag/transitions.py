"""State changes made inside a caller's write transaction: advance, fail, finish, log."""
from __future__ import annotations

import logging

from typing import TYPE_CHECKING, Any

from app.dag import lock
from app.dag.models import CANCEL, FAILED, MODE_EXECUTE, PENDING, ROLLBACK, RUN, SUCCEED
from app.dag.queue import Job, job_for
from app.dag.template import MAINTENANCE_GLOBAL

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

# Rows of any store's models (each store has its own model classes).
Dag = DagNode = SubTask = Any

log = logging.getLogger(__name__)

CANCELLED_MESSAGE = "cancelled by operator"
# Final outcomes passed to DagTemplate.on_finish(dag, outcome, settings).
FINISHED_SUCCEED = "SUCCEED"
FINISHED_ROLLED_BACK = "ROLLED_BACK"
FINISHED_PASSED = "PASSED"


def node_at(store: "DagStore", dag: Dag, seq: int | None = None) -> DagNode:
    """The node at stage `seq` (default: the DAG's current stage)."""
    model = store.DagNode
    return model.get((model.dag == dag.id) & (model.seq == (seq or dag.stage)))


def node_sub_tasks(store: "DagStore", node: DagNode) -> list[SubTask]:
    """The node's sub-tasks in order."""
    model = store.SubTask
    return list(model.select().where(model.node == node.id).order_by(model.seq))


def current_sub_task(store: "DagStore", dag: Dag) -> SubTask | None:
    """The sub-task that runs next at the DAG's stage: forward the first unfinished one,
    rolling back the last one not yet rolled back; None when the node is done."""
    pending = [s for s in node_sub_tasks(store, node_at(store, dag)) if s.state != SUCCEED]
    if not pending:
        return None
    return pending[0] if dag.mode == MODE_EXECUTE else pending[-1]


def add_log(store: "DagStore", sub_task_id: int, execute_times: int, message: str,
            now: float | None = None) -> None:
    """Append one task_logs line."""
    now = now or store.now()
    store.SubTaskLog.create(sub_task=sub_task_id, execute_times=execute_times,
                      log_content=message, create_time=now, update_time=now)


def clear_claim(sub_task: SubTask) -> None:
    """Forget the lease and the scheduled check."""
    sub_task.claim_owner = None
    sub_task.claim_expires_at = None
    sub_task.next_check_at = None


def finish_dag(store: "DagStore", dag: Dag, operator: str, now: float) -> str:
    """Record the DAG's successful end (normal, rolled back or passed) and release its lock."""
    dag.state, dag.operator, dag.end_time, dag.updated_at = SUCCEED, operator, now, now
    dag.stage = 1 if operator == ROLLBACK else dag.max_stage
    dag.cancel_requested = False
    dag.propagate_pending = None
    dag.save()
    if dag.maintenance_type == MAINTENANCE_GLOBAL:
        lock.release(store, dag.scope, dag.id)
    return {RUN: FINISHED_SUCCEED, ROLLBACK: FINISHED_ROLLED_BACK}.get(operator, FINISHED_PASSED)


def advance(store: "DagStore", dag: Dag, now: float) -> tuple[list[Job], str | None]:
    """Move past finished nodes; return the next message, or the final outcome."""
    forward = dag.mode == MODE_EXECUTE
    while True:
        nxt = current_sub_task(store, dag)
        if nxt is not None:
            nxt.ready_at = now
            nxt.save()
            dag.updated_at = now
            dag.save()
            return [job_for(nxt)], None
        node = node_at(store, dag)
        if node.state != SUCCEED:
            node.state, node.end_time = SUCCEED, now
            node.save()
        if forward and dag.stage >= dag.max_stage:
            return [], finish_dag(store, dag, RUN, now)
        if not forward and dag.stage <= 1:
            return [], finish_dag(store, dag, ROLLBACK, now)
        dag.stage += 1 if forward else -1


def fail(store: "DagStore", dag: Dag, node: DagNode, sub_task: SubTask, message: str, now: float,
         cancelled: bool = False) -> None:
    """Record a FAILED sub-task (its last log line is `message`), node and DAG."""
    sub_task.state, sub_task.end_time = FAILED, now
    clear_claim(sub_task)
    node.state, node.end_time = FAILED, now
    dag.state, dag.end_time, dag.updated_at, dag.stage = FAILED, now, now, node.seq
    if cancelled:
        sub_task.operator = node.operator = dag.operator = CANCEL
        dag.cancel_requested = False
    sub_task.save()
    node.save()
    dag.save()
    add_log(store, sub_task.id, sub_task.execute_times, message or "failed", now)
    log.info("DAG %s node %s (%s) failed: %s", dag.id, node.seq, node.name, message)


def reset_sub_task(sub_task: SubTask, operator: str, now: float, prepare: bool = False) -> None:
    """Make a sub-task runnable again under `operator`; older messages become stale."""
    sub_task.state, sub_task.operator = PENDING, operator
    sub_task.prepare_pending = prepare
    sub_task.end_time = None
    sub_task.check_seq += 1
    sub_task.wait_started_at = None
    sub_task.ready_at = now
    clear_claim(sub_task)
    sub_task.save()
