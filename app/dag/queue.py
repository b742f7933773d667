"""Task messages: which sub-task a message runs and the state it must still find."""
from __future__ import annotations

from typing import Any, NamedTuple


class Job(NamedTuple):
    """A task message: the sub-task and the (execute_times, check_seq) it must still have."""

    sub_task_id: int
    execute_times: int
    check_seq: int
    delay: float | None = None


def job_for(sub_task: Any, delay: float | None = None) -> Job:
    """The message that runs `sub_task` as it is now."""
    return Job(sub_task.id, sub_task.execute_times, sub_task.check_seq, delay)
