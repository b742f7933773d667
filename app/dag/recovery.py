"""The recovery sweep: re-enqueue work a dead consumer left behind and free orphaned locks."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

from app.dag import lock
from app.dag.claim import claim_dead
from app.dag.models import PENDING, READY, RUNNING
from app.dag.queue import Job, job_for
from app.dag.transitions import SubTask, advance, current_sub_task

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

log = logging.getLogger(__name__)


Finished = tuple[Any, str]  # a DAG that the sweep finished, and its final outcome


def has_moving_dags(store: "DagStore") -> bool:
    """Whether any DAG is READY or RUNNING: one short statement, written out (the idle
    maintainer sends it every second; peewee's query building would cost more than the
    round trip)."""
    table = store.Dag._meta.table_name
    param = store.database.param
    cursor = store.database.execute_sql(
        f"SELECT 1 FROM {table} WHERE state IN ({param}, {param}) LIMIT 1", (READY, RUNNING))
    return cursor.fetchone() is not None


def sweep(store: "DagStore", config: Mapping[str, Any],
          eager: bool = False) -> tuple[list[Job], list[Finished]]:
    """Find every moving DAG's current sub-task that nobody is working on; return the jobs.

    `eager` (consumer start) re-enqueues every queued or waiting sub-task at once: duplicates
    are dropped by the claim's compare-and-set. Periodic sweeps only touch what has been idle
    for longer than a claim period. Claims of dead processes are taken over in both cases.
    """
    # A shared store's lost work is found by the maintainer's frequent scans (spec §4); an
    # agent's own store by its consumer's sweep, which may wait as long as a claim lives.
    grace = float(config["CLUSTER_SWEEP_GRACE_S" if store.shared else "CLAIM_TTL_S"])
    now = store.now()
    jobs, finished = [], []
    model = store.Dag
    for dag in model.select().where(model.state.in_([READY, RUNNING])).order_by(model.id):
        current = current_sub_task(store, dag)
        if current is None:
            repaired, outcome = _repair(store, dag.id)
            jobs.extend(repaired)
            if outcome:
                finished.append((dag, outcome))
            continue
        job = _due(current, now, grace, eager, store.here)
        if job is not None:
            jobs.append(job)
    for dag_id in lock.heal_orphans(store):
        log.warning("recovery: lock of DAG %s released", dag_id)
    if jobs:
        log.info("recovery: re-enqueued %d sub-task(s)", len(jobs))
    return jobs, finished


def _due(sub_task: SubTask, now: float, grace: float, eager: bool, here: str) -> Job | None:
    if sub_task.state == PENDING:
        idle = sub_task.ready_at is None or sub_task.ready_at <= now - grace
        return job_for(sub_task) if eager or idle else None
    if sub_task.state != RUNNING:
        return None
    if sub_task.claim_owner is not None:
        return job_for(sub_task) if claim_dead(sub_task, now, here) else None
    due_at = sub_task.next_check_at or 0.0
    if eager:
        return job_for(sub_task, max(0.0, due_at - now) or None)
    return job_for(sub_task) if due_at <= now - grace else None


def _repair(store: "DagStore", dag_id: int) -> tuple[list[Job], str | None]:
    """A moving DAG whose stage has nothing left to run: advance it (cannot normally happen)."""
    with store.atomic():
        dag = store.Dag.get_by_id(dag_id)
        if dag.state not in (READY, RUNNING) or current_sub_task(store, dag) is not None:
            return [], None
        log.warning("recovery: DAG %s had no runnable sub-task at stage %s; advancing", dag_id,
                    dag.stage)
        return advance(store, dag, store.now())
