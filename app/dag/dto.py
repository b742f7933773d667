"""DagDetailDTO, NodeDetailDTO, TaskDetailDTO and log DTOs (wire spec §6.2-6.5)."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Iterable

from app.dag.ids import encode_cluster, encode_local
from app.dag.models import PASS, ROLLBACK, SUCCEED, Dag, DagNode, SubTask, SubTaskLog
from app.dag.settings import engine_settings
from app.dag.template import SCOPE_CLUSTER

UNSET_TIME = "0001-01-01T00:00:00Z"


def format_time(ts: float | None) -> str:
    """RFC 3339 with microseconds and offset; the Go zero time when unset."""
    if ts is None:
        return UNSET_TIME
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="microseconds")


def generic_id(dag: Dag, obj_id: int) -> str:
    """The generic id of `obj_id` (the DAG's or one of its nodes'/sub-tasks') by the DAG's scope."""
    if dag.scope == SCOPE_CLUSTER:
        return encode_cluster(obj_id)
    settings = engine_settings()
    return encode_local(obj_id, settings["IP"], settings["PORT"])


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


def sub_task_dto(dag: Dag, sub_task: SubTask, logs: list[str],
                 own_data: bool = True) -> dict[str, Any]:
    """TaskDetailDTO; inside DAG/node details `additional_data` is null."""
    return {"id": generic_id(dag, sub_task.id), "task_id": sub_task.id, "name": sub_task.name,
            **_status(sub_task),
            "additional_data": _sub_task_data(sub_task) if own_data else None,
            "execute_times": sub_task.execute_times,
            "execute_agent": {"ip": sub_task.agent_ip or "", "port": sub_task.agent_port or 0},
            "task_logs": logs}


def _logs_by_sub_task(sub_task_ids: list[int]) -> dict[int, list[str]]:
    logs: dict[int, list[str]] = {i: [] for i in sub_task_ids}
    if not sub_task_ids:
        return logs
    query = (SubTaskLog.select(SubTaskLog.sub_task, SubTaskLog.log_content)
             .where(SubTaskLog.sub_task.in_(sub_task_ids)).order_by(SubTaskLog.id).tuples())
    for sub_task_id, content in query:
        logs[sub_task_id].append(content)
    return logs


def _node_body(dag: Dag, node: DagNode, sub_tasks: list[SubTask] | None,
               logs: dict[int, list[str]], data: Any) -> dict[str, Any]:
    return {"id": generic_id(dag, node.id), "node_id": node.id, "name": node.name,
            **_status(node), "additional_data": data,
            "sub_tasks": None if sub_tasks is None else
            [sub_task_dto(dag, s, logs.get(s.id, []), own_data=False) for s in sub_tasks]}


def node_dto(dag: Dag, node: DagNode, show_details: bool) -> dict[str, Any]:
    """NodeDetailDTO as `GET /node/<id>` answers it."""
    if not show_details:
        return _node_body(dag, node, None, {}, None)
    sub_tasks = list(SubTask.select().where(SubTask.node == node.id).order_by(SubTask.seq))
    logs = _logs_by_sub_task([s.id for s in sub_tasks])
    return _node_body(dag, node, sub_tasks, logs, _merged(sub_tasks))


def dag_dto(dag: Dag, show_details: bool) -> dict[str, Any]:
    """DagDetailDTO; with details, nodes and the merged `additional_data` are filled."""
    body = {"id": generic_id(dag, dag.id), "dag_id": dag.id, "name": dag.name,
            "stage": dag.stage, "max_stage": dag.max_stage,
            "maintenance_type": dag.maintenance_type, "maintenance_key": dag.maintenance_key,
            **_status(dag), "additional_data": _flags(dag) or None, "nodes": None}
    if show_details:
        nodes = list(DagNode.select().where(DagNode.dag == dag.id).order_by(DagNode.seq))
        sub_tasks = list(SubTask.select().where(SubTask.dag == dag.id)
                         .order_by(SubTask.node, SubTask.seq))
        logs = _logs_by_sub_task([s.id for s in sub_tasks])
        by_node: dict[int, list[SubTask]] = {n.id: [] for n in nodes}
        for sub_task in sub_tasks:
            by_node[sub_task.node_id].append(sub_task)
        body["nodes"] = [_node_body(dag, n, by_node[n.id], logs, None) for n in nodes]
        ordered = [s for n in nodes for s in by_node[n.id]]
        body["additional_data"] = merge_data(_merged(ordered), _flags(dag)) if nodes else (
            _flags(dag) or None)
    return body


def log_dto(entry: SubTaskLog) -> dict[str, Any]:
    """One entry of `GET /sub_task/<id>/logs`."""
    return {"id": entry.id, "sub_task_id": entry.sub_task_id, "execute_times": entry.execute_times,
            "log_content": entry.log_content, "is_sync": entry.is_sync,
            "create_time": format_time(entry.create_time),
            "update_time": format_time(entry.update_time)}

