"""RETRY, ROLLBACK, CANCEL, PASS (wire spec §7.3): checks, committed effects, then enqueue."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from app.dag.errors import NotFound, OperatorRefused
from app.dag.models import (CANCEL, FAILED, MODE_EXECUTE, MODE_ROLLBACK, OPERATORS, PASS,
                            PENDING, READY, RETRY, ROLLBACK, RUN, SUCCEED)
from app.dag.queue import Job, job_for
from app.dag.template import DagTemplate
from app.dag.transitions import (Dag, DagNode, advance, clear_claim, current_sub_task, finish_dag,
                                 node_at, node_sub_tasks, reset_sub_task)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

Effect = tuple[list[Job], str | None]
NO_CHANGE: Effect = ([], None)


@dataclass
class Operation:
    """What an operator's transaction needs: the store and the templates (for PASS guards)."""

    store: "DagStore"
    templates: Mapping[str, DagTemplate]
    now: float = 0.0


def _refuse(reason: str, message: str, node: bool = False) -> OperatorRefused:
    return OperatorRefused(reason, message, on_node=node)


def _apply(op: Operation, handler: Callable[[Operation], tuple[Dag, Effect]]) -> tuple[Dag, Effect]:
    with op.store.atomic():
        op.now = op.store.now()
        return handler(op)


def operate(op: Operation, dag_id: int, operator: str,
            propagate: bool = True) -> tuple[Dag, Effect]:
    """Apply a DAG operator in one committed transaction; return the DAG and what follows.

    `propagate=False` is for an operator that a peer DAG passes on (or a peer's own nudge): it
    is applied here but not passed back, so one operator request runs each failed stage once
    and two DAGs never keep retrying each other."""
    name = str(operator).upper()
    if name not in OPERATORS:
        raise _refuse("NotSupport", f"Operator {operator} is not supported")
    handler = _HANDLERS[name]

    def apply(op: Operation) -> tuple[Dag, Effect]:
        dag = op.store.Dag.get_or_none(op.store.Dag.id == dag_id)
        if dag is None:
            raise NotFound()
        effect = handler(op, dag)
        if not propagate and dag.propagate_pending and effect is not NO_CHANGE:
            dag.propagate_pending = None
            dag.save()
        return dag, effect

    return _apply(op, apply)


def _nodes_up_to_stage(op: Operation, dag: Dag) -> list[DagNode]:
    model = op.store.DagNode
    return list(model.select().where((model.dag == dag.id) & (model.seq <= dag.stage))
                .order_by(model.seq))


def _first_lacking(op: Operation, nodes: list[DagNode], flag: str,
                   only_unfinished: bool = False) -> str | None:
    for node in nodes:
        for sub_task in node_sub_tasks(op.store, node):
            if only_unfinished and sub_task.state == SUCCEED:
                continue
            if not getattr(sub_task, flag):
                return node.name
    return None


def _already(dag: Dag, operator: str, suffix: str, message: str) -> bool:
    """Not FAILED: True for the idempotent repeat (the DAG already runs under `operator`),
    otherwise the refusal. FAILED: False (go ahead)."""
    if dag.state == FAILED:
        return False
    if dag.operator == operator:
        return True
    raise _refuse(suffix, message)


def _reset_times(dag: Dag, now: float) -> None:
    dag.start_time = dag.end_time = None
    dag.cancel_requested = False
    dag.updated_at = now


def _retry(op: Operation, dag: Dag) -> Effect:
    now = op.now
    if _already(dag, RUN, "RetryNotFailedDag", "Failed to set DAG retry: DAG state is not failed"):
        return NO_CHANGE
    node = node_at(op.store, dag)
    if dag.mode != MODE_EXECUTE or _first_lacking(op, [node], "can_retry"):
        raise _refuse("RetryNotAllowed", f"Failed to set DAG retry: node {node.name} cannot retry")
    dag.state, dag.operator, dag.propagate_pending = READY, RUN, RETRY
    _reset_times(dag, now)
    dag.save()
    node.state, node.operator, node.end_time = PENDING, RETRY, None
    node.save()
    for sub_task in node_sub_tasks(op.store, node):
        if sub_task.state != SUCCEED:
            reset_sub_task(sub_task, RETRY, now, prepare=True)
    return [job_for(current_sub_task(op.store, dag))], None


def _rolled_back(row: DagNode) -> bool:
    return row.state == SUCCEED and row.operator == ROLLBACK


def _rollback(op: Operation, dag: Dag) -> Effect:
    now = op.now
    if _already(dag, ROLLBACK, "RollbackNotFailedDag",
                "Failed to set DAG rollback: DAG state is not failed"):
        return NO_CHANGE
    nodes = _nodes_up_to_stage(op, dag)
    lacking = _first_lacking(op, nodes, "can_rollback")
    if lacking:
        raise _refuse("RollbackNotAllowed", f"Failed to set DAG rollback: node {lacking} cannot rollback")
    template = op.templates.get(dag.name)
    reason = template.rollback_guard(dag, op.store) if template and template.rollback_guard else None
    if reason:
        raise _refuse("RollbackNotAllowed", f"Failed to set DAG rollback: {reason}")
    dag.state, dag.operator, dag.mode, dag.propagate_pending = READY, ROLLBACK, MODE_ROLLBACK, ROLLBACK
    _reset_times(dag, now)
    dag.save()
    for node in nodes:
        if _rolled_back(node):
            continue
        node.state, node.operator, node.end_time = PENDING, ROLLBACK, None
        node.save()
        for sub_task in node_sub_tasks(op.store, node):
            if not _rolled_back(sub_task):
                reset_sub_task(sub_task, ROLLBACK, now)
    return [job_for(current_sub_task(op.store, dag))], None


def _cancel(op: Operation, dag: Dag) -> Effect:
    now = op.now
    if dag.finished:
        raise _refuse("CancelFinishedDag", "Failed to cancel DAG: DAG is finished")
    if dag.operator == CANCEL:
        return NO_CHANGE
    if dag.mode == MODE_ROLLBACK:
        raise _refuse("CancelNotAllowed",
                      "Failed to cancel DAG: DAG is rolling back; a rollback is not cancelled "
                      "halfway (it would leave both sides half undone). It ends within its "
                      "stages' budgets; if it fails, ROLLBACK it again")
    lacking = _first_lacking(op, _nodes_up_to_stage(op, dag), "can_cancel")
    if lacking:
        raise _refuse("CancelNotAllowed", f"Failed to cancel DAG: node {lacking} cannot cancel")
    dag.operator, dag.cancel_requested, dag.updated_at = CANCEL, True, now
    dag.start_time = dag.end_time = None  # wire spec §6.5: times reset when CANCEL is accepted
    dag.save()
    node = node_at(op.store, dag)
    node.state, node.operator = PENDING, CANCEL
    node.save()
    current = current_sub_task(op.store, dag)
    if current is not None and current.claim_owner is None:
        return [job_for(current)], None  # a waiting or queued sub-task notices at once
    return NO_CHANGE


def _pass_rows(op: Operation, node: DagNode) -> None:
    now = op.now
    node.state, node.operator, node.end_time = SUCCEED, PASS, now
    node.save()
    for sub_task in node_sub_tasks(op.store, node):
        if sub_task.state != SUCCEED:
            sub_task.state, sub_task.operator, sub_task.end_time = SUCCEED, PASS, now
            clear_claim(sub_task)
            sub_task.save()


def _check_pass_guard(op: Operation, dag: Dag, prefix: str, node: bool = False) -> None:
    """The template's own PASS condition (e.g. scale-out: the target already joined)."""
    template = op.templates.get(dag.name)
    reason = template.pass_guard(dag, op.store) if template and template.pass_guard else None
    if reason:
        raise _refuse("PassNotAllowed", f"{prefix}: {reason}", node=node)


def _pass(op: Operation, dag: Dag) -> Effect:
    now = op.now
    if _already(dag, PASS, "PassNotFailedDag", "Failed to pass DAG: DAG is not failed"):
        return NO_CHANGE  # PASS is only ever the operator of a SUCCEED DAG
    model = op.store.DagNode
    unfinished = list(model.select().where((model.dag == dag.id) & (model.state != SUCCEED))
                      .order_by(model.seq))
    lacking = _first_lacking(op, unfinished, "can_pass", only_unfinished=True)
    if lacking:
        raise _refuse("PassNotAllowed", f"Failed to pass DAG: node {lacking} cannot pass")
    _check_pass_guard(op, dag, "Failed to pass DAG")
    for node in unfinished:
        _pass_rows(op, node)
    return [], finish_dag(op.store, dag, PASS, now)


_HANDLERS: dict[str, Callable[[Operation, Dag], Effect]] = {
    RETRY: _retry, ROLLBACK: _rollback, CANCEL: _cancel, PASS: _pass}


def operate_node(op: Operation, node_id: int, operator: str) -> tuple[Dag, Effect]:
    """PASS one FAILED node; the DAG then moves on from the next node."""
    if str(operator).upper() != PASS:
        raise _refuse("NotSupport", f"Operator {operator} is not supported", node=True)

    def apply(op: Operation) -> tuple[Dag, Effect]:
        node = op.store.DagNode.get_or_none(op.store.DagNode.id == node_id)
        if node is None:
            raise NotFound()
        dag = op.store.Dag.get_by_id(node.dag_id)
        return dag, _pass_node(op, dag, node)

    return _apply(op, apply)


def _pass_node(op: Operation, dag: Dag, node: DagNode) -> Effect:
    now = op.now
    if node.state == SUCCEED and node.operator == PASS:
        return NO_CHANGE
    if dag.state != FAILED:
        raise _refuse("PassNotFailedDag", "Failed to pass node: DAG is not failed", node=True)
    if node.state != FAILED:
        raise _refuse("PassNotFailedNode", "Failed to pass node: node is not failed", node=True)
    if dag.mode != MODE_EXECUTE or _first_lacking(op, [node], "can_pass", only_unfinished=True):
        raise _refuse("PassNotAllowed", f"Failed to pass node: node {node.name} cannot pass",
                      node=True)
    if node.seq == dag.max_stage:
        _check_pass_guard(op, dag, "Failed to pass node", node=True)
    _pass_rows(op, node)
    if node.seq == dag.max_stage:
        return [], finish_dag(op.store, dag, PASS, now)
    dag.state, dag.operator, dag.end_time = READY, RUN, None
    dag.cancel_requested = False
    return advance(op.store, dag, now)
