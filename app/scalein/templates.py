"""The 'Cluster scale in' and 'Delete zone' DAG templates (cluster DAGs, cluster lock)."""
from __future__ import annotations

from typing import Any, Mapping

from app.dag.template import DagTemplate, NodeSpec, TaskSpec
from app.scalein import stages, zone_stages

CLUSTER_SCALE_IN = "Cluster scale in"
DELETE_ZONE = "Delete zone"


def _cfg(key: str):
    return lambda config: float(config[key])


SQL_BUDGET = _cfg("SCALE_OUT_SQL_TIMEOUT_S")
RPC_BUDGET = _cfg("SCALE_OUT_RPC_TIMEOUT_S")


def _node(name: str, execute, rollback, budget=SQL_BUDGET, **flags) -> NodeSpec:
    return NodeSpec(name, [TaskSpec(name, execute, rollback, budget, **flags)])


def _scale_in_node(name: str, execute, rollback, budget=SQL_BUDGET, **flags) -> NodeSpec:
    """A scale-in stage: PASS is possible, within stages.pass_guard (the server is gone)."""
    return _node(name, execute, rollback, budget, can_pass=True, **flags)


def _stop_budget(config) -> float:
    return float(config["OBSERVER_STOP_TIMEOUT_S"]) + float(config["SCALE_OUT_RPC_TIMEOUT_S"])


def scale_in_nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
    """DELETE SERVER, SCALING IN, the wait for OceanBase, the registry, the agent leaves."""
    return [
        _scale_in_node("Delete server", stages.delete_server, stages.cancel_delete_server,
                       _cfg("SCALE_OUT_DELETE_SERVER_TIMEOUT_S")),
        _scale_in_node("Be scaling in agent", stages.be_scaling_in, stages.back_to_member,
                       RPC_BUDGET),
        _scale_in_node(stages.WAIT_DELETED, stages.wait_deleted, stages.cancel_delete_server,
                       _cfg("SCALE_OUT_DELETE_SERVER_TIMEOUT_S")),
        # After the wait OceanBase has deleted the server: no way back, RETRY finishes.
        _scale_in_node("Remove agent from registry", stages.remove_agent, stages.restore_agent,
                       can_rollback=False),
        _scale_in_node("Stop observer and leave cluster", stages.stop_and_leave,
                       stages.nothing_after_leaving, _stop_budget, can_rollback=False),
    ]


def delete_zone_nodes(params: Mapping[str, Any]) -> list[NodeSpec]:
    """STOP ZONE, then DELETE ZONE, then a fresh read; each rollback puts back what its stage
    changed."""
    return [
        _node("Stop zone", zone_stages.stop_zone, zone_stages.start_zone_again),
        _node("Delete zone", zone_stages.delete_zone, zone_stages.add_zone_again),
        _node("Check zone deleted", zone_stages.check_deleted, zone_stages.nothing),
    ]


SCALE_IN_TEMPLATE = DagTemplate(CLUSTER_SCALE_IN, scale_in_nodes, scope="cluster",
                                rollback_guard=stages.rollback_guard, pass_guard=stages.pass_guard)
DELETE_ZONE_TEMPLATE = DagTemplate(DELETE_ZONE, delete_zone_nodes, scope="cluster")
TEMPLATES = [SCALE_IN_TEMPLATE, DELETE_ZONE_TEMPLATE]
