"""The DAG engine's huey tasks: run one sub-task; the recovery sweeps."""
from __future__ import annotations

import logging
import secrets

from huey import crontab

from app.dag import recovery, runner
from app.dag.settings import engine_settings
from app.db import connection
from app.taskqueue import huey

log = logging.getLogger(__name__)

# The self-rescheduling sweep chain that belongs to this consumer; chains scheduled by an
# earlier consumer (still in the queue file after a restart) stop at their next run.
_chain = {"token": ""}


@huey.task()
def run_sub_task(sub_task_id: int, execute_times: int, check_seq: int) -> None:
    """Run one sub-task message (duplicates and stale messages are dropped)."""
    with connection():
        runner.run(sub_task_id, execute_times, check_seq)


@huey.task()
def recovery_sweep(token: str) -> None:
    """One link of the sweep chain: sweep, then schedule the next link."""
    if token != _chain["token"]:
        return
    try:
        with connection():
            recovery.sweep(eager=False)
    finally:
        recovery_sweep.schedule((token,), delay=float(engine_settings()["RECOVERY_INTERVAL_S"]))


@huey.periodic_task(crontab(minute="*"))
def recovery_sweep_minutely() -> None:
    """A backstop sweep every minute, in case the chain was lost."""
    with connection():
        recovery.sweep(eager=False)


def start_recovery_chain() -> str:
    """Start this consumer's sweep chain; returns its token."""
    _chain["token"] = secrets.token_hex(8)
    recovery_sweep.schedule((_chain["token"],),
                            delay=float(engine_settings()["RECOVERY_INTERVAL_S"]))
    return _chain["token"]
