"""The recovery sweep: re-enqueue work a dead consumer left behind and free orphaned locks."""
from __future__ import annotations

import logging
import time
from typing import Any, Mapping

from app.dag import lock
from app.dag.claim import claim_dead
from app.dag.models import PENDING, READY, RUNNING, Dag, SubTask
from app.dag.queue import Job, dispatch, job_for
from app.dag.settings import engine_settings
from app.dag.transitions import advance, current_sub_task, notify_finished
from app.dag.template import find_template
from app.db import database

log = logging.getLogger(__name__)


def sweep(eager: bool = False, config: Mapping[str, Any] | None = None) -> list[Job]:
    """Enqueue every moving DAG's current sub-task that nobody is working on; return the jobs.

    `eager` (consumer start) re-enqueues every queued or waiting sub-task at once: duplicates
    are dropped by the claim's compare-and-set. Periodic sweeps only touch what has been idle
    for longer than a claim period. Claims of dead processes are taken over in both cases.
    """
    config = config or engine_settings()
    grace = float(config["CLAIM_TTL_S"])
    now = time.time()
    jobs = []
    for dag in Dag.select().where(Dag.state.in_([READY, RUNNING])).order_by(Dag.id):
        current = current_sub_task(dag)
        if current is None:
            jobs.extend(_repair(dag.id))
            continue
        job = _due(current, now, grace, eager)
        if job is not None:
            jobs.append(job)
    for dag_id in lock.heal_orphans():
        log.warning("recovery: lock of DAG %s released", dag_id)
    if jobs:
        log.info("recovery: re-enqueued %d sub-task(s)", len(jobs))
    dispatch(jobs)
    return jobs


def _due(sub_task: SubTask, now: float, grace: float, eager: bool) -> Job | None:
    if sub_task.state == PENDING:
        idle = sub_task.ready_at is None or sub_task.ready_at <= now - grace
        return job_for(sub_task) if eager or idle else None
    if sub_task.state != RUNNING:
        return None
    if sub_task.claim_owner is not None:
        return job_for(sub_task) if claim_dead(sub_task, now) else None
    due_at = sub_task.next_check_at or 0.0
    if eager:
        return job_for(sub_task, max(0.0, due_at - now) or None)
    return job_for(sub_task) if due_at <= now - grace else None


def _repair(dag_id: int) -> list[Job]:
    """A moving DAG whose stage has nothing left to run: advance it (cannot normally happen)."""
    with database.atomic("IMMEDIATE"):
        dag = Dag.get_by_id(dag_id)
        if dag.state not in (READY, RUNNING) or current_sub_task(dag) is not None:
            return []
        log.warning("recovery: DAG %s had no runnable sub-task at stage %s; advancing", dag_id,
                    dag.stage)
        jobs, finished = advance(dag, time.time())
    if finished:
        notify_finished(find_template(dag.name), dag_id, finished)
    return jobs
