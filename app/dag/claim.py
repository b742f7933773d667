"""Claims (leases) on sub-tasks: who holds one, whether its holder is dead, taking one."""
from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from app.dag.models import PENDING, READY, RUNNING
from app.dag.transitions import CANCELLED_MESSAGE, Dag, DagNode, SubTask, current_sub_task, fail
from app.process import procfs

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

_TOKEN = secrets.token_hex(6)


def owner_id(here: str = "") -> str:
    """This process's claim owner: its pid plus a token that tells a reused pid apart, and in a
    shared store the agent ("ip:port") it belongs to."""
    return f"{os.getpid()}:{_TOKEN}@{here}" if here else f"{os.getpid()}:{_TOKEN}"


def owner_dead(owner: str, here: str = "") -> bool:
    """True when the process named by `owner` is known to be gone.

    An owner of another agent (`pid:token@ip:port`) is never judged here: its pid means
    nothing on this host, so only its lease's expiry (database time) frees its claim.
    """
    local, _, agent = owner.partition("@")
    if agent != here:
        return False
    pid_text, _, token = local.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    if pid == os.getpid():
        return token != _TOKEN
    return not procfs.alive(pid)


def claim_dead(sub_task: SubTask, now: float, here: str = "") -> bool:
    """True when a RUNNING sub-task's claim may be taken over: expired, or its holder died."""
    if sub_task.claim_owner is None:
        return True
    expired = sub_task.claim_expires_at is None or sub_task.claim_expires_at < now
    return expired or owner_dead(sub_task.claim_owner, here)


class Inflight:
    """The claims this process holds right now, for the renewal that keeps them alive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[int, tuple[int, str]] = {}

    def add(self, held: "Claim") -> None:
        with self._lock:
            self._claims[held.sub_task.id] = (held.sub_task.check_seq, held.owner)

    def discard(self, held: "Claim") -> None:
        with self._lock:
            if self._claims.get(held.sub_task.id) == (held.sub_task.check_seq, held.owner):
                del self._claims[held.sub_task.id]

    def snapshot(self) -> dict[int, tuple[int, str]]:
        with self._lock:
            return dict(self._claims)

    def __bool__(self) -> bool:
        return bool(self._claims)


def renew(store: "DagStore", inflight: Inflight, config: Mapping[str, Any]) -> int:
    """Push back the expiry of every claim this process still holds; returns how many held.

    A claim that was taken over meanwhile matches nothing: its run finds out at its next
    fenced write and records nothing."""
    held = inflight.snapshot()
    if not held:
        return 0
    model = store.SubTask
    renewed = 0
    with store.atomic():
        expires = store.now() + store.claim_ttl(config)
        for sub_task_id, (check_seq, owner) in held.items():
            renewed += model.update(claim_expires_at=expires).where(
                (model.id == sub_task_id) & (model.state == RUNNING)
                & (model.check_seq == check_seq) & (model.claim_owner == owner)).execute()
    return renewed


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
    with store.atomic():
        now = store.now()
        sub_task = store.locked(store.SubTask.select().where(store.SubTask.id == sub_task_id)).first()
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
        if sub_task.state == RUNNING and not claim_dead(sub_task, now, store.here):
            return None
        if sub_task.state not in (PENDING, RUNNING):
            return None
        _take(store, dag, node, sub_task, now, config)
    return Claim(dag, node, sub_task, sub_task.claim_owner)


def _take(store: "DagStore", dag: Dag, node: DagNode, sub_task: SubTask, now: float,
          config: Mapping[str, Any]) -> None:
    if sub_task.state == PENDING:  # a fresh execution (first run, RETRY or rollback step)
        sub_task.state = RUNNING
        sub_task.execute_times += 1
        sub_task.start_time, sub_task.end_time = now, None
        sub_task.wait_started_at = None
        sub_task.log_state_key = sub_task.log_state_at = None
    # The agent running it now: a claim taken over in the cluster store moves to another member.
    sub_task.agent_ip, sub_task.agent_port = str(config["IP"]), int(config["PORT"])
    sub_task.check_seq += 1
    sub_task.claim_owner = owner_id(store.here)
    sub_task.claim_expires_at = now + store.claim_ttl(config)
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
