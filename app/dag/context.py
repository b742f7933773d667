"""TaskContext: what a task function receives, with durable writes fenced by its claim."""
from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from app.dag.models import RETRY, RUNNING, dumps
from app.dag.transitions import Dag, SubTask, add_log

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

LOG_REPEAT_S = 30.0


class ClaimLost(Exception):
    """This run no longer owns its sub-task (its lease expired and another run took over)."""


class TaskContext:
    """The running sub-task's view of its DAG: params, private data, logs, cancel flag."""

    def __init__(self, store: "DagStore", dag: Dag, sub_task: SubTask, generic_id: str,
                 mode: str, config: Mapping[str, Any]):
        self.store = store
        self.dag_id: int = dag.id
        self.generic_id: str = generic_id
        self.sub_task_id: int = sub_task.id
        self.mode: str = mode
        self.retrying: bool = sub_task.operator == RETRY
        self.config: Mapping[str, Any] = config
        self.params: dict[str, Any] = dag.context_dict()
        self.local: dict[str, Any] = json.loads(sub_task.local_data or "{}")
        self.data: dict[str, Any] = json.loads(sub_task.additional_data or "{}")
        self._execute_times = sub_task.execute_times
        self._check_seq = sub_task.check_seq
        self._owner = sub_task.claim_owner
        self._wait_started_at = sub_task.wait_started_at
        self._log_state = (sub_task.log_state_key, sub_task.log_state_at)

    @contextlib.contextmanager
    def _fenced(self) -> Iterator[None]:
        """A write transaction that first proves this run still holds the claim (and renews it)."""
        model = self.store.SubTask
        with self.store.atomic():
            expires = self.store.now() + self.store.claim_ttl(self.config)
            renewed = (model.update(claim_expires_at=expires)
                       .where((model.id == self.sub_task_id) & (model.state == RUNNING)
                              & (model.check_seq == self._check_seq)
                              & (model.claim_owner == self._owner)).execute())
            if not renewed:
                raise ClaimLost(f"sub-task {self.sub_task_id} was taken over by another run")
            yield

    def _update_sub_task(self, **values: Any) -> None:
        model = self.store.SubTask
        model.update(**values).where(model.id == self.sub_task_id).execute()

    def set(self, key: str, value: Any) -> None:
        """Write one key of the DAG context now (its own short transaction)."""
        self.update({key: value})

    def update(self, values: Mapping[str, Any]) -> None:
        """Write several keys of the DAG context now, atomically."""
        model = self.store.Dag
        with self._fenced():
            current = json.loads(model.select(model.context).where(model.id == self.dag_id).scalar())
            current.update(values)
            model.update(context=dumps(current), updated_at=self.store.now()).where(
                model.id == self.dag_id).execute()
        self.params = current

    def set_local(self, key: str, value: Any) -> None:
        """Write the sub-task's private durable data (kept across retries of this sub-task)."""
        local = {**self.local, key: value}
        with self._fenced():
            self._update_sub_task(local_data=dumps(local))
        self.local = local

    def set_data(self, key: str, value: Any) -> None:
        """Write one key of the sub-task's public additional_data."""
        data = {**self.data, key: value}
        with self._fenced():
            self._update_sub_task(additional_data=dumps(data))
        self.data = data

    def log(self, message: str) -> None:
        """Append a task_logs line now, only while this run still holds its claim (a run that
        was taken over records nothing)."""
        with self._fenced():
            add_log(self.store, self.sub_task_id, self._execute_times, message)

    def log_change(self, state_key: str, message: str) -> None:
        """Log when the observed state changes, otherwise at most every 30 s."""
        last_key, last_at = self._log_state
        now = self.store.now()
        if state_key == last_key and last_at is not None and now - last_at < LOG_REPEAT_S:
            return
        with self._fenced():
            self._update_sub_task(log_state_key=state_key, log_state_at=now)
        self._log_state = (state_key, now)
        self.log(message)

    def waited_s(self) -> float:
        """Seconds since this wait started (0 before the first Wait of this execution)."""
        return 0.0 if self._wait_started_at is None else max(0.0, self.store.now() - self._wait_started_at)

    def cancelled(self) -> bool:
        """True when CANCEL was requested for the DAG."""
        model = self.store.Dag
        return bool(model.select(model.cancel_requested).where(model.id == self.dag_id).scalar())

