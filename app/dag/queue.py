"""Enqueueing sub-task messages on huey, always after the state change is committed."""
from __future__ import annotations

import logging
from typing import Iterable, NamedTuple

from app.dag.models import SubTask

log = logging.getLogger(__name__)


class Job(NamedTuple):
    """A task message: the sub-task and the (execute_times, check_seq) it must still have."""

    sub_task_id: int
    execute_times: int
    check_seq: int
    delay: float | None = None


def job_for(sub_task: SubTask, delay: float | None = None) -> Job:
    """The message that runs `sub_task` as it is now."""
    return Job(sub_task.id, sub_task.execute_times, sub_task.check_seq, delay)


def dispatch(jobs: Iterable[Job]) -> None:
    """Enqueue `jobs`; a failed enqueue is logged and left to the recovery sweep."""
    # The huey task functions live in app.tasks (which imports this package); importing
    # them here, at call time, keeps app.dag free of an import-time dependency on app.tasks.
    from app.tasks.engine import run_sub_task

    for job in jobs:
        try:
            if job.delay and job.delay > 0:
                run_sub_task.schedule(job[:3], delay=job.delay)
            else:
                run_sub_task(*job[:3])
        except Exception:  # noqa: BLE001 - the sweep re-enqueues anything lost here
            log.exception("could not enqueue sub-task %s; the recovery sweep will", job[0])
