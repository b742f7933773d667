"""Claims (leases) on sub-tasks: who holds one, whether its holder is dead, taking one."""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from app.dag.models import PENDING, READY, RUNNING
from app.dag.transitions import CANCELLED_MESSAGE, Dag, DagNode, SubTask, current_sub_task, fail
from app.process import procfs

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

_TOKEN = secrets.token_hex(6)


def owner_id() -> str:
    """This process's claim owner: its pid plus a token that tells a reused pid apart."""
    return f"{os.getpid()}:{_TOKEN}"


def owner_dead(owner: str) -> bool:
    """True when the process named by `owner` no longer runs on this machine."""
    pid_text, _, token = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():
        return token != _TOKEN
    return not procfs.alive(pid)


def claim_dead(sub_task: SubTask, now: float) -> bool:
    """True when a RUNNING sub-task's claim may be taken over: expired, or its holder died."""
    if sub_task.claim_owner is None:
        return True
    expired = sub_task.claim_expires_at is None or sub_task.claim_expires_at < now
    return expired or owner_dead(sub_task.claim_owner)


@dataclass
class Claim:
    """A sub-task this run now owns, with its node and DAG as read in the claiming transaction."""

    dag: Dag
    node: DagNode
    sub_task: SubTask
    owner: str


def claim(store: "DagStore", sub_task_id: int, execute_times: int, check_seq: int,
          config: Mapping[str, Any]) -> Claim | None:
    """Compare-and-set the sub-task to RUNNING under this process; None drops the message."""
    now = time.time()
    with store.atomic():
        sub_task = store.SubTask.get_or_none(store.SubTask.id == sub_task_id)
        if sub_task is None or (sub_task.execute_times, sub_task.check_seq) != (execute_times,
                                                                                 check_seq):
            return None
        dag = store.Dag.get_by_id(sub_task.dag_id)
        current = current_sub_task(store, dag) if dag.state in (READY, RUNNING) else None
        if current is None or current.id != sub_task.id:
            return None
        node = store.DagNode.get_by_id(sub_task.node_id)
        if sub_task.state == PENDING and dag.cancel_requested:
            fail(store, dag, node, sub_task, CANCELLED_MESSAGE, now, cancelled=True)
            return None
        if sub_task.state == RUNNING and not claim_dead(sub_task, now):
            return None
        if sub_task.state not in (PENDING, RUNNING):
            return None
        _take(dag, node, sub_task, now, config)
    return Claim(dag, node, sub_task, sub_task.claim_owner)


def _take(dag: Dag, node: DagNode, sub_task: SubTask, now: float,
          config: Mapping[str, Any]) -> None:
    if sub_task.state == PENDING:  # a fresh execution (first run, RETRY or rollback step)
        sub_task.state = RUNNING
        sub_task.execute_times += 1
        sub_task.start_time, sub_task.end_time = now, None
        sub_task.wait_started_at = None
        sub_task.log_state_key = sub_task.log_state_at = None
        sub_task.agent_ip, sub_task.agent_port = str(config["IP"]), int(config["PORT"])
    sub_task.check_seq += 1
    sub_task.claim_owner = owner_id()
    sub_task.claim_expires_at = now + float(config["CLAIM_TTL_S"])
    sub_task.next_check_at = None
    sub_task.save()
    if node.state != RUNNING:
        node.state = RUNNING
        node.start_time = node.start_time or now
        node.end_time = None
        node.save()
    if dag.state != RUNNING:
        dag.state = RUNNING
        dag.start_time = dag.start_time or now
        dag.updated_at = now
        dag.save()
