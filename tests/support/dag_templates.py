"""Test-only DAG templates whose tasks record every execution in files named by the params.

Params (all optional except `log`):
  log       file that gets one line per execution: "exec|rollback|propagate|finish ..."
  effects   file that gets each node's side effect exactly once (check-before-act)
  stages    number of nodes (default 3); tasks_per_node (default 1)
  nodes     {"<n>": behaviour} for node n (1-based); behaviour keys:
            fail_until (path: fail while missing), rollback_fail_until, error (bool: raise
            RuntimeError), waits (int: raise Wait that many times), wait_delay (s),
            sleep (s), hold (path: block while it exists, after touching <path>.reached),
            hold_after (same, but after the side effect), rollback_hold (same, in rollback),
            budget_s, can_retry/can_rollback/can_cancel/can_pass (bool)
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Mapping

from app.dag.template import (MAINTENANCE_NONE, SCOPE_AGENT, DagTemplate, NodeSpec, TaskFailed,
                              TaskSpec, Wait)

LINEAR = "Test linear"
LOCAL = "Test local"
PLAIN = "Test plain"
HOLD_POLL_S = 0.02


def record(path: str | None, line: str) -> None:
    """Append one line (O_APPEND: atomic for a short line)."""
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def _behaviour(params: Mapping[str, Any], node: int) -> dict[str, Any]:
    return dict((params.get("nodes") or {}).get(str(node), {}))


def _hold(path: str | None) -> None:
    if not path:
        return
    Path(f"{path}.reached").touch()
    while os.path.exists(path):
        time.sleep(HOLD_POLL_S)


def _effect_once(path: str | None, line: str) -> None:
    if not path:
        return
    done = Path(path).read_text(encoding="utf-8").splitlines() if os.path.exists(path) else []
    if line not in done:
        record(path, line)


def _execute(node: int, task: int):
    def execute(ctx) -> None:
        how = _behaviour(ctx.params, node)
        tag = f"{ctx.dag_id} {node}.{task}"
        record(ctx.params.get("log"), f"exec {tag} {os.getpid()} retrying={ctx.retrying}")
        _hold(how.get("hold"))
        if how.get("sleep"):
            time.sleep(float(how["sleep"]))
        if how.get("error"):
            raise RuntimeError("boom")
        if how.get("fail_until") and not os.path.exists(how["fail_until"]):
            raise TaskFailed(f"marker {os.path.basename(how['fail_until'])} is missing")
        waited = int(ctx.local.get("waits", 0))
        if waited < int(how.get("waits", 0)):
            ctx.set_local("waits", waited + 1)
            ctx.log_change(f"wait {waited}", f"waiting: check {waited + 1}")
            raise Wait(f"node {node} not ready", delay=how.get("wait_delay", 0.05))
        _effect_once(ctx.params.get("effects"), f"effect {tag}")
        ctx.set(f"done_{node}_{task}", True)
        ctx.set_data("nodes", [node])
        _hold(how.get("hold_after"))
    return execute


def _rollback(node: int, task: int):
    def rollback(ctx) -> None:
        how = _behaviour(ctx.params, node)
        tag = f"{ctx.dag_id} {node}.{task}"
        record(ctx.params.get("log"), f"rollback {tag} {os.getpid()}")
        _hold(how.get("rollback_hold"))
        if how.get("rollback_fail_until") and not os.path.exists(how["rollback_fail_until"]):
            raise TaskFailed("rollback marker is missing")
        _effect_once(ctx.params.get("effects"), f"undo {tag}")
    return rollback


def _prepare(node: int, task: int):
    def prepare(ctx) -> None:
        record(ctx.params.get("log"), f"prepare {ctx.dag_id} {node}.{task}")
    return prepare


def _task(params: Mapping[str, Any], node: int, task: int) -> TaskSpec:
    how = _behaviour(params, node)
    return TaskSpec(
        name=f"step {node}.{task}", execute=_execute(node, task), rollback=_rollback(node, task),
        prepare_retry=_prepare(node, task), budget_s=how.get("budget_s"),
        can_retry=how.get("can_retry", True), can_rollback=how.get("can_rollback", True),
        can_cancel=how.get("can_cancel", True), can_pass=how.get("can_pass", False))


def nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
    """`stages` nodes of `tasks_per_node` tasks."""
    per_node = int(params.get("tasks_per_node", 1))
    return [NodeSpec(f"stage {n}", [_task(params, n, t) for t in range(per_node)])
            for n in range(1, int(params.get("stages", 3)) + 1)]


def propagate(ctx, operator: str) -> None:
    """Record the propagation; `propagate_waits` makes it Wait that many times first."""
    record(ctx.params.get("log"), f"propagate {ctx.dag_id} {operator}")
    done = int(ctx.local.get("propagate_waits", 0))
    if done < int(ctx.params.get("propagate_waits", 0)):
        ctx.set_local("propagate_waits", done + 1)
        raise Wait("peer not reached yet", delay=0.05)


def _finish_recorder(template_name: str):
    def on_finish(dag, final: str, config) -> None:
        record(dag.context_dict().get("log"), f"finish {dag.id} {final}")
    return on_finish


TEMPLATES = [
    DagTemplate(LINEAR, nodes, propagate=propagate, on_finish=_finish_recorder(LINEAR)),
    DagTemplate(LOCAL, nodes, scope=SCOPE_AGENT, propagate=propagate,
                on_finish=_finish_recorder(LOCAL)),
    DagTemplate(PLAIN, nodes, maintenance_type=MAINTENANCE_NONE),
]


def template(name: str) -> DagTemplate:
    """One of the test templates by name."""
    return next(t for t in TEMPLATES if t.name == name)
