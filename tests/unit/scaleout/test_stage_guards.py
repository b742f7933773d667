"""Coordinator stages that must not be fooled: re-runs, rolled-back targets, rollback budgets."""
import pytest

from app.config import load_config
from app.dag.template import TaskFailed, TaskSpec
from app.scaleout import coordinator_remote as remote
from app.scaleout.templates import coordinator_nodes


class RerunContext:
    """A stage's view after its result was already stored (the worker died before success)."""

    def __init__(self, params):
        self.params, self.lines = params, []

    def log(self, line):
        self.lines.append(line)

    def update(self, values):
        raise AssertionError("a re-run must not rewrite the integrated config")


def test_integrate_config_rerun_keeps_the_stored_result():
    ctx = RerunContext({"config": {"zone": "z1"}, "dirs": {"data_dir": "/h/store"},
                        "agentInfo": {"ip": "10.0.0.4", "port": 2886}})
    remote.integrate_config(ctx)
    assert ctx.lines == ["config already integrated: data_dir /h/store"]


@pytest.mark.parametrize("dag_op,node_op", [("ROLLBACK", "RUN"), ("RUN", "ROLLBACK"),
                                            ("ROLLBACK", "ROLLBACK")])
def test_rolled_back_target_node_is_not_success(dag_op, node_op):
    ctx = RerunContext({"agentInfo": {"ip": "10.0.0.4", "port": 2886}})
    dag = {"id": "2123", "state": "SUCCEED", "operator": dag_op}
    with pytest.raises(TaskFailed, match="rolled back or rolling back"):
        remote._fail_if_rolled_back(ctx, dag, {"state": "SUCCEED", "operator": node_op})


def test_forward_target_node_passes_the_guard():
    ctx = RerunContext({"agentInfo": {"ip": "10.0.0.4", "port": 2886}})
    remote._fail_if_rolled_back(ctx, {"state": "RUNNING", "operator": "RUN"},
                                {"state": "SUCCEED", "operator": "RUN"})


def test_rollback_budgets_cover_what_they_wait_for():
    config = load_config(environ={})
    nodes = {n.name: n.tasks[0] for n in coordinator_nodes({"isNewZone": False})}
    create = nodes["Create local scale out dag"]
    assert create.budget(config) == config["SCALE_OUT_RPC_TIMEOUT_S"]
    assert create.budget(config, "rollback") >= (config["OBSERVER_START_TIMEOUT_S"]
                                                 + config["OBSERVER_STOP_TIMEOUT_S"])
    add_server = nodes["Add server for scale_out"]
    assert add_server.budget(config) == config["SCALE_OUT_SQL_TIMEOUT_S"]
    assert add_server.budget(config, "rollback") == config["SCALE_OUT_DELETE_SERVER_TIMEOUT_S"]


def test_budget_is_capped_by_the_ceiling():
    spec = TaskSpec("t", lambda ctx: None, budget_s=10_000, rollback_budget_s=lambda c: 20_000)
    config = {"SUBTASK_CEILING_S": 3600}
    assert spec.budget(config) == 3600 and spec.budget(config, "rollback") == 3600


def test_null_target_agent_password_reads_as_empty():
    from app.schemas.scale_out import scale_out_request_schema
    from app.scaleout.service import from_body

    body = scale_out_request_schema.load({"agentInfo": {"ip": "10.0.0.4", "port": 2886},
                                          "zone": "z", "obConfigs": {}, "targetAgentPassword": None})
    assert from_body(body).target_agent_password == ""


def test_deeply_nested_body_is_a_bind_error(app):
    from flask import g

    from app.errors import ApiError
    from app.schemas import json_body

    with app.test_request_context("/"):
        g.body_plaintext = b"[" * 200000
        with pytest.raises(ApiError) as refused:
            json_body()
    assert (refused.value.err_code, refused.value.status) == ("Common.BindJsonFailed", 400)
