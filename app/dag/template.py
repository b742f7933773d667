"""Declarative DAG templates: nodes of named tasks with execute/rollback callables and flags."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.context import TaskContext

log = logging.getLogger(__name__)

MAINTENANCE_NONE = 1
MAINTENANCE_GLOBAL = 2
SCOPE_CLUSTER = "cluster"
SCOPE_AGENT = "agent"


class Wait(Exception):
    """The task is not done yet: check again after `delay` seconds (default: the poll interval)."""

    def __init__(self, message: str, delay: float | None = None):
        super().__init__(message)
        self.message = message
        self.delay = delay


class TaskFailed(Exception):
    """The task failed; `message` becomes the last task_logs line."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class TaskSpec:
    """One named unit of work of a node."""

    name: str
    execute: Callable[["TaskContext"], None]
    rollback: Callable[["TaskContext"], None] | None = None
    budget_s: float | Callable[[Mapping[str, Any]], float] | None = None
    prepare_retry: Callable[["TaskContext"], None] | None = None
    # The rollback's own budget when it differs from the execute budget (None = the same).
    rollback_budget_s: float | Callable[[Mapping[str, Any]], float] | None = None
    can_retry: bool = True
    can_rollback: bool = True
    can_cancel: bool = True
    can_pass: bool = False

    def budget(self, config: Mapping[str, Any], mode: str = "execute") -> float:
        """The time budget in seconds; SUBTASK_CEILING_S caps it and stands in for None."""
        ceiling = float(config["SUBTASK_CEILING_S"])
        chosen = self.budget_s
        if mode == "rollback" and self.rollback_budget_s is not None:
            chosen = self.rollback_budget_s
        if chosen is None:
            return ceiling
        value = chosen(config) if callable(chosen) else chosen
        return min(float(value), ceiling)


@dataclass
class NodeSpec:
    """One stage of a DAG: its tasks run in order."""

    name: str
    tasks: list[TaskSpec]


@dataclass
class DagTemplate:
    """A DAG kind: its nodes (chosen from the creation params) and its maintenance scope."""

    name: str
    nodes: Callable[[Mapping[str, Any]], list[NodeSpec]]
    maintenance_type: int = MAINTENANCE_GLOBAL
    scope: str = SCOPE_CLUSTER
    propagate: Callable[["TaskContext", str], None] | None = None
    on_finish: Callable[[int, str], None] | None = None
    # Called in the PASS precondition check with the DAG row and its store; a returned text
    # refuses the PASS.
    pass_guard: Callable[[Any, Any], str | None] | None = None
    # The same for ROLLBACK (e.g. a scale-in whose server OceanBase has already deleted).
    rollback_guard: Callable[[Any, Any], str | None] | None = None

    def build(self, params: Mapping[str, Any]) -> list[NodeSpec]:
        """The node list for these creation params, validated."""
        nodes = self.nodes(params)
        if not nodes or any(not node.tasks for node in nodes):
            raise ValueError(f"template {self.name!r}: every DAG needs nodes and every node tasks")
        return nodes


def check_template(template: DagTemplate) -> DagTemplate:
    """Refuse a template whose scope or maintenance type the engine does not know."""
    if template.scope not in (SCOPE_CLUSTER, SCOPE_AGENT):
        raise ValueError(f"template {template.name!r}: unknown scope {template.scope!r}")
    if template.maintenance_type not in (MAINTENANCE_NONE, MAINTENANCE_GLOBAL):
        raise ValueError(f"template {template.name!r}: maintenance_type must be 1 or 2")
    return template


def task_spec(template: DagTemplate, params: Mapping[str, Any], node_seq: int,
              task_seq: int) -> TaskSpec:
    """The TaskSpec at (1-based node, 0-based task) for a DAG created with `params`."""
    return template.build(params)[node_seq - 1].tasks[task_seq]
