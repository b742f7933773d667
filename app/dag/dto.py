"""DagDetailDTO, NodeDetailDTO, TaskDetailDTO and log DTOs (wire spec §6.2-6.5)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable

from app.dag.ids import encode_cluster, encode_local
from app.dag.models import PASS, ROLLBACK, SUCCEED
from app.dag.template import SCOPE_CLUSTER
from app.dag.transitions import Dag, DagNode, SubTask

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

UNSET_TIME = "0001-01-01T00:00:00Z"
SubTaskLog = Any


def format_time(ts: float | None) -> str:
    """RFC 3339 with microseconds and offset; the Go zero time when unset."""
    if ts is None:
        return UNSET_TIME
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="microseconds")


def generic_id(dag: Dag, obj_id: int, ip: str, port: int) -> str:
    """The generic id of `obj_id` (the DAG's or one of its nodes'/sub-tasks') by the DAG's scope;
    local objects carry the address of the agent whose store holds them."""
    if dag.scope == SCOPE_CLUSTER:
        return encode_cluster(obj_id)
    return encode_local(obj_id, ip, port)


def merge_data(target: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Merge `extra` into `target`: later scalars win, lists concatenate, maps merge recursively."""
    for key, value in extra.items():
        old = target.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            target[key] = merge_data(dict(old), value)
        elif isinstance(old, list) and isinstance(value, list):
            target[key] = old + value
        else:
            target[key] = value
    return target


def _flags(dag: Dag) -> dict[str, Any]:
    if dag.state == SUCCEED and dag.operator == ROLLBACK:
        return {"rolled_back": True}
    if dag.state == SUCCEED and dag.operator == PASS:
        return {"passed": True}
    return {}


def _status(row: Dag | DagNode | SubTask) -> dict[str, Any]:
    return {"state": row.state, "operator": row.operator,
            "start_time": format_time(row.start_time), "end_time": format_time(row.end_time)}


def _sub_task_data(sub_task: SubTask) -> dict[str, Any] | None:
    return json.loads(sub_task.additional_data) if sub_task.additional_data else None


def _merged(sub_tasks: Iterable[SubTask]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for sub_task in sub_tasks:
        merge_data(merged, _sub_task_data(sub_task) or {})
    return merged


class DagViews:
    """The wire views of one store's rows; `generic_id(dag, obj_id)` names them."""

    def __init__(self, store: "DagStore", generic_id: Callable[[Dag, int], str]):
        self.store = store
        self.generic_id = generic_id

    def sub_task_dto(self, dag: Dag, sub_task: SubTask, logs: list[str],
                     own_data: bool = True) -> dict[str, Any]:
        """TaskDetailDTO; inside DAG/node details `additional_data` is null."""
        return {"id": self.generic_id(dag, sub_task.id), "task_id": sub_task.id,
                "name": sub_task.name,
                **_status(sub_task),
                "additional_data": _sub_task_data(sub_task) if own_data else None,
                "execute_times": sub_task.execute_times,
                "execute_agent": {"ip": sub_task.agent_ip or "", "port": sub_task.agent_port or 0},
                "task_logs": logs}

    def _logs_by_sub_task(self, sub_task_ids: list[int]) -> dict[int, list[str]]:
        logs: dict[int, list[str]] = {i: [] for i in sub_task_ids}
        if not sub_task_ids:
            return logs
        model = self.store.SubTaskLog
        query = (model.select(model.sub_task, model.log_content)
                 .where(model.sub_task.in_(sub_task_ids)).order_by(model.id).tuples())
        for sub_task_id, content in query:
            logs[sub_task_id].append(content)
        return logs

    def _node_body(self, dag: Dag, node: DagNode, sub_tasks: list[SubTask] | None,
                   logs: dict[int, list[str]], data: Any) -> dict[str, Any]:
        return {"id": self.generic_id(dag, node.id), "node_id": node.id, "name": node.name,
                **_status(node), "additional_data": data,
                "sub_tasks": None if sub_tasks is None else
                [self.sub_task_dto(dag, s, logs.get(s.id, []), own_data=False)
                 for s in sub_tasks]}

    def node_dto(self, dag: Dag, node: DagNode, show_details: bool) -> dict[str, Any]:
        """NodeDetailDTO as `GET /node/<id>` answers it."""
        if not show_details:
            return self._node_body(dag, node, None, {}, None)
        sub_tasks = list(self.store.SubTask.select().where(self.store.SubTask.node == node.id)
                         .order_by(self.store.SubTask.seq))
        logs = self._logs_by_sub_task([s.id for s in sub_tasks])
        return self._node_body(dag, node, sub_tasks, logs, _merged(sub_tasks))

    def dag_dto(self, dag: Dag, show_details: bool) -> dict[str, Any]:
        """DagDetailDTO; with details, nodes and the merged `additional_data` are filled."""
        body = {"id": self.generic_id(dag, dag.id), "dag_id": dag.id, "name": dag.name,
                "stage": dag.stage, "max_stage": dag.max_stage,
                "maintenance_type": dag.maintenance_type, "maintenance_key": dag.maintenance_key,
                **_status(dag), "additional_data": _flags(dag) or None, "nodes": None}
        if show_details:
            nodes = list(self.store.DagNode.select().where(self.store.DagNode.dag == dag.id)
                         .order_by(self.store.DagNode.seq))
            model = self.store.SubTask
            sub_tasks = list(model.select().where(model.dag == dag.id)
                             .order_by(model.node, model.seq))
            logs = self._logs_by_sub_task([s.id for s in sub_tasks])
            by_node: dict[int, list[SubTask]] = {n.id: [] for n in nodes}
            for sub_task in sub_tasks:
                by_node[sub_task.node_id].append(sub_task)
            body["nodes"] = [self._node_body(dag, n, by_node[n.id], logs, None) for n in nodes]
            ordered = [s for n in nodes for s in by_node[n.id]]
            body["additional_data"] = merge_data(_merged(ordered), _flags(dag)) if nodes else (
                _flags(dag) or None)
        return body

    @staticmethod
    def log_dto(entry: SubTaskLog) -> dict[str, Any]:
        """One entry of `GET /sub_task/<id>/logs`."""
        return {"id": entry.id, "sub_task_id": entry.sub_task_id,
                "execute_times": entry.execute_times,
                "log_content": entry.log_content, "is_sync": entry.is_sync,
                "create_time": format_time(entry.create_time),
                "update_time": format_time(entry.update_time)}

