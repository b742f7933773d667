"""Running one claimed sub-task: call the template code, then record the outcome (CAS)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import peewee

from app.dag import claim as claims
from app.dag.context import ClaimLost, TaskContext
from app.dag.models import MODE_EXECUTE, RUNNING, SUCCEED
from app.dag.queue import Job, job_for
from app.dag.template import DagTemplate, TaskFailed, TaskSpec, Wait, task_spec
from app.dag.transitions import CANCELLED_MESSAGE, Dag, DagNode, SubTask, advance, clear_claim, fail

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

log = logging.getLogger(__name__)

MIN_DELAY_S = 0.001


@dataclass
class Outcome:
    """What a run ended with: kind is "success", "wait", "failed" or "lost"."""

    kind: str
    message: str = ""
    delay: float | None = None
    budget: float = 0.0


@dataclass
class Run:
    """One message's run: the store, the template of its DAG, settings, and how ids look."""

    store: "DagStore"
    templates: Mapping[str, DagTemplate]
    config: Mapping[str, Any]
    generic_id: Callable[[Any, int], str]
    # Claims this process holds while their task runs (renewed by claims.renew in a shared store).
    inflight: claims.Inflight | None = None


def run(ctx: Run, sub_task_id: int, execute_times: int,
        check_seq: int) -> tuple[list[Job], str | None, Any]:
    """Handle one task message: claim, run, record; return next jobs, final outcome and DAG."""
    claim = claims.claim(ctx.store, sub_task_id, execute_times, check_seq, ctx.config)
    if claim is None:
        log.debug("dropped message for sub-task %s (%s, %s)", sub_task_id, execute_times, check_seq)
        return [], None, None
    if ctx.inflight is not None:
        ctx.inflight.add(claim)
    try:
        outcome = _execute(ctx, claim, ctx.templates.get(claim.dag.name))
    finally:
        if ctx.inflight is not None:
            ctx.inflight.discard(claim)
    if outcome.kind == "lost":
        log.warning("sub-task %s was taken over while it ran; result dropped", sub_task_id)
        return [], None, claim.dag
    jobs, finished = record(ctx.store, claim, outcome)
    return jobs, finished, claim.dag


def _execute(run_ctx: Run, claim: claims.Claim, template: DagTemplate | None) -> Outcome:
    dag, config = claim.dag, run_ctx.config
    if template is None:
        return Outcome("failed", f"DAG template {dag.name!r} is not registered in this worker")
    try:
        spec = task_spec(template, dag.params_dict(), claim.node.seq, claim.sub_task.seq)
        budget = spec.budget(config, dag.mode)
    except Exception as exc:  # noqa: BLE001 - a broken template fails the sub-task, visibly
        log.exception("DAG %s: cannot build template %r", dag.id, dag.name)
        return Outcome("failed", f"unexpected error: {type(exc).__name__}")
    ctx = TaskContext(run_ctx.store, dag, claim.sub_task, run_ctx.generic_id(dag, dag.id),
                      dag.mode, config)
    try:
        _call_template(ctx, claim, template, spec)
    except ClaimLost:
        return Outcome("lost")
    except Wait as wait:
        delay = wait.delay if wait.delay is not None else config["SCALE_OUT_POLL_INTERVAL_S"]
        return Outcome("wait", wait.message, float(delay), budget)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the sub-task's last log line
        return Outcome("failed", failure_message(exc, dag.id, claim.sub_task.id))
    return Outcome("success")


def _call_template(ctx: TaskContext, claim: claims.Claim, template: DagTemplate,
                   spec: TaskSpec) -> None:
    dag, sub_task = claim.dag, claim.sub_task
    if dag.propagate_pending:
        if template.propagate is not None:
            template.propagate(ctx, dag.propagate_pending)
        model = ctx.store.Dag
        _clear_flag(ctx, model.update(propagate_pending=None).where(
            (model.id == dag.id) & (model.propagate_pending == dag.propagate_pending)))
    if ctx.mode == MODE_EXECUTE:
        if sub_task.prepare_pending:
            if spec.prepare_retry is not None:
                spec.prepare_retry(ctx)
            model = ctx.store.SubTask
            _clear_flag(ctx, model.update(prepare_pending=False).where(model.id == sub_task.id))
        spec.execute(ctx)
    elif spec.rollback is not None:
        spec.rollback(ctx)


def _clear_flag(ctx: TaskContext, query) -> None:
    with ctx._fenced():  # noqa: SLF001 - the engine's own use of the claim fence
        query.execute()


def failure_message(exc: BaseException, dag_id: int, sub_task_id: int) -> str:
    """The last log line for a failed run; unexpected errors keep their traceback in the log."""
    if isinstance(exc, TaskFailed) or hasattr(exc, "err_code"):
        return str(exc) or type(exc).__name__
    log.error("DAG %s sub-task %s: unexpected error", dag_id, sub_task_id, exc_info=exc)
    detail = database_error_detail(exc)
    if detail:
        return f"unexpected error: {type(exc).__name__}: {detail}"
    return f"unexpected error: {type(exc).__name__}"


def database_error_detail(exc: BaseException) -> str | None:
    """A database error's code and message (peewee wraps PyMySQL's `(code, message)` and
    sqlite3's `(message,)`), so a failed store write says which error it met."""
    if not isinstance(exc, peewee.DatabaseError):
        return None
    args = getattr(exc, "args", ()) or ()
    if len(args) >= 2 and isinstance(args[0], int):
        return f"MySQL error {args[0]}: {str(args[1])[:160]}"
    if args:
        return str(args[0])[:160]
    return None


def record(store: "DagStore", claim: claims.Claim,
           outcome: Outcome) -> tuple[list[Job], str | None]:
    """Record the outcome if this run still owns the sub-task; return next jobs and final state."""
    with store.atomic():
        now = store.now()
        sub_task = store.locked(store.SubTask.select().where(
            store.SubTask.id == claim.sub_task.id)).first()
        if (sub_task is None or sub_task.state != RUNNING or sub_task.check_seq !=
                claim.sub_task.check_seq or sub_task.claim_owner != claim.owner):
            log.warning("sub-task %s changed hands; outcome %s dropped", claim.sub_task.id,
                        outcome.kind)
            return [], None
        dag = store.Dag.get_by_id(sub_task.dag_id)
        node = store.DagNode.get_by_id(sub_task.node_id)
        if outcome.kind == "success":
            sub_task.state, sub_task.end_time = SUCCEED, now
            clear_claim(sub_task)
            sub_task.save()
            return advance(store, dag, now)
        if outcome.kind == "wait":
            return _wait(store, dag, node, sub_task, outcome, now), None
        fail(store, dag, node, sub_task, outcome.message, now)
        return [], None


def _wait(store: "DagStore", dag: Dag, node: DagNode, sub_task: SubTask, outcome: Outcome,
          now: float) -> list[Job]:
    started = sub_task.wait_started_at or now
    waited = now - started
    if waited >= outcome.budget:
        fail(store, dag, node, sub_task, f"timed out after {outcome.budget:g} s: {outcome.message}", now)
        return []
    if dag.cancel_requested:
        fail(store, dag, node, sub_task, CANCELLED_MESSAGE, now, cancelled=True)
        return []
    # Never later than the budget allows, and always through the schedule (no hot loop).
    delay = max(MIN_DELAY_S, min(outcome.delay or 0.0, outcome.budget - waited))
    clear_claim(sub_task)
    sub_task.wait_started_at = started
    sub_task.next_check_at = now + delay
    sub_task.save()
    return [job_for(sub_task, delay)]

