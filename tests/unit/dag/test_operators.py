"""RETRY, ROLLBACK, CANCEL, PASS: effects, final states, propagation and every refusal."""
from pathlib import Path

import pytest

from app.dag import claim as claims
from app.dag import runner
from tests.support.engine_proxy import engine
from app.dag.dto import UNSET_TIME
from app.dag.errors import DagError
from app.errors import engine_error
from tests.support import dag_templates as templates
from tests.unit.dag.conftest import create, last_log, node_states, reload, run_scheduled, sub_tasks


def fail_at(files, node: int, **extra) -> dict:
    behaviour = {"fail_until": files.marker(f"fixed-{node}"), **extra.pop("how", {})}
    return files.params(nodes={str(node): behaviour, **extra.pop("nodes", {})}, **extra)


def fix(files, node: int) -> None:
    Path(files.marker(f"fixed-{node}")).touch()


def test_retry_prepares_once_then_reexecutes_the_failed_stage(dag_app, files, manual):
    dag = create(templates.LINEAR, fail_at(files, 2))
    manual.drain()
    fix(files, 2)
    engine.operate(dag.id, "RETRY")
    accepted = reload(dag)
    assert (accepted.state, accepted.operator, accepted.stage) == ("READY", "RUN", 2)
    assert (accepted.start_time, accepted.end_time) == (None, None)
    assert node_states(accepted)[1] == ("PENDING", "RETRY")
    assert engine.find_lock_holder("cluster").id == dag.id
    manual.drain()
    done = reload(dag)
    assert (done.state, done.operator, done.stage) == ("SUCCEED", "RUN", 3)
    tail = [line.split()[0] for line in files.lines()][2:]
    assert tail == ["propagate", "prepare", "exec", "exec", "finish"]
    assert files.lines("exec")[2].endswith("retrying=True")
    assert sub_tasks(dag)[1].execute_times == 2
    assert engine.find_lock_holder("cluster") is None


def test_rollback_runs_rollbacks_in_reverse_exactly_once(dag_app, files):
    dag = create(templates.LINEAR, fail_at(files, 3, stages=4))
    engine.operate(dag.id, "ROLLBACK")
    done = reload(dag)
    assert (done.state, done.operator, done.stage) == ("SUCCEED", "ROLLBACK", 1)
    assert [line.split()[2] for line in files.lines("rollback")] == ["3.0", "2.0", "1.0"]
    assert files.effects.read_text().splitlines()[-3:] == [f"undo {dag.id} {n}.0" for n in (3, 2, 1)]
    assert files.lines("propagate") == [f"propagate {dag.id} ROLLBACK"]
    assert files.lines("finish") == [f"finish {dag.id} ROLLED_BACK"]
    assert node_states(done) == [("SUCCEED", "ROLLBACK")] * 3 + [("PENDING", "RUN")]
    assert engine.find_lock_holder("cluster") is None
    for details in (True, False):
        assert engine.views.dag_dto(done, details)["additional_data"]["rolled_back"] is True
    assert engine.views.dag_dto(done, False)["additional_data"] == {"rolled_back": True}


def test_failed_rollback_keeps_the_lock_refuses_retry_and_resumes_on_rollback(dag_app, files):
    params = fail_at(files, 3, nodes={"2": {"rollback_fail_until": files.marker("rb")}})
    dag = create(templates.LINEAR, params)
    engine.operate(dag.id, "ROLLBACK")
    failed = reload(dag)
    assert (failed.state, failed.operator, failed.stage) == ("FAILED", "ROLLBACK", 2)
    assert last_log(sub_tasks(dag)[1]) == "rollback marker is missing"
    assert engine.find_lock_holder("cluster").id == dag.id
    with pytest.raises(DagError) as caught:
        engine.operate(dag.id, "RETRY")
    assert engine_error(caught.value).err_code == "Task.Dag.Operator.RetryNotAllowed"
    Path(files.marker("rb")).touch()
    engine.operate(dag.id, "ROLLBACK")
    assert (reload(dag).state, reload(dag).operator) == ("SUCCEED", "ROLLBACK")
    assert [line.split()[2] for line in files.lines("rollback")] == ["3.0", "2.0", "2.0", "1.0"]


def test_propagate_may_wait_before_the_rollback_runs(dag_app, files):
    dag = create(templates.LINEAR, fail_at(files, 2, propagate_waits=2))
    engine.operate(dag.id, "ROLLBACK")
    assert files.lines("rollback") == []
    run_scheduled()
    assert len(files.lines("propagate")) == 3
    assert [line.split()[2] for line in files.lines("rollback")] == ["2.0", "1.0"]
    assert reload(dag).operator == "ROLLBACK" and reload(dag).state == "SUCCEED"


def test_cancel_stops_a_wait_at_its_next_check(dag_app, files):
    dag = create(templates.LINEAR, files.params(nodes={"2": {"waits": 100, "wait_delay": 60}}))
    engine.operate(dag.id, "CANCEL")
    cancelled = reload(dag)
    assert (cancelled.state, cancelled.operator, cancelled.stage) == ("FAILED", "CANCEL", 2)
    assert node_states(cancelled)[1] == ("FAILED", "CANCEL")
    assert last_log(sub_tasks(dag)[1]) == "cancelled by operator"
    assert engine.cancel_requested(dag.id) is False
    assert engine.find_lock_holder("cluster").id == dag.id
    run_scheduled()  # the old scheduled check is stale now
    assert reload(dag).state == "FAILED"


def test_cancel_is_honoured_at_the_next_sub_task_boundary(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params())
    (args, _), = manual.jobs
    manual.jobs.clear()
    taken = claims.claim(engine.store, *args, dag_app.config)
    engine.operate(dag.id, "CANCEL")
    assert engine.cancel_requested(dag.id)
    assert node_states(reload(dag))[0] == ("PENDING", "CANCEL")
    jobs, _ = runner.record(engine.store, taken, runner.Outcome("success"))
    assert sub_tasks(dag)[0].state == "SUCCEED"
    manual.jobs.extend((job[:3], None) for job in jobs)
    manual.drain()
    cancelled = reload(dag)
    assert (cancelled.state, cancelled.operator, cancelled.stage) == ("FAILED", "CANCEL", 2)
    assert files.lines("exec") == []
    assert last_log(sub_tasks(dag)[1]) == "cancelled by operator"


def test_retry_after_cancel_completes(dag_app, files):
    dag = create(templates.LINEAR, files.params(nodes={"2": {"waits": 1, "wait_delay": 60}}))
    engine.operate(dag.id, "CANCEL")
    engine.operate(dag.id, "RETRY")
    run_scheduled()
    assert (reload(dag).state, reload(dag).operator) == ("SUCCEED", "RUN")


def test_pass_ends_the_dag_and_releases_the_lock(dag_app, files):
    params = fail_at(files, 2, how={"can_pass": True}, nodes={"3": {"can_pass": True}})
    dag = create(templates.LINEAR, params)
    engine.operate(dag.id, "pass")
    done = reload(dag)
    assert (done.state, done.operator, done.stage) == ("SUCCEED", "PASS", 3)
    assert node_states(done) == [("SUCCEED", "RUN"), ("SUCCEED", "PASS"), ("SUCCEED", "PASS")]
    assert engine.views.dag_dto(done, False)["additional_data"] == {"passed": True}
    assert engine.find_lock_holder("cluster") is None
    assert files.lines("finish") == [f"finish {dag.id} PASSED"]
    engine.operate(dag.id, "PASS")  # idempotent repeat


def test_node_pass_moves_the_dag_on(dag_app, files):
    dag = create(templates.LINEAR, fail_at(files, 2, how={"can_pass": True}))
    node_id = engine.views.dag_dto(reload(dag), True)["nodes"][1]["node_id"]
    engine.operate_node(node_id, "PASS")
    done = reload(dag)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert node_states(done)[1] == ("SUCCEED", "PASS")
    assert [line.split()[2] for line in files.lines("exec")] == ["1.0", "2.0", "3.0"]
    engine.operate_node(node_id, "PASS")  # idempotent repeat


def test_node_pass_of_the_last_node_passes_the_dag(dag_app, files):
    dag = create(templates.LINEAR, fail_at(files, 3, how={"can_pass": True}))
    engine.operate_node(engine.views.dag_dto(reload(dag), True)["nodes"][2]["node_id"], "PASS")
    assert (reload(dag).state, reload(dag).operator) == ("SUCCEED", "PASS")
    assert engine.find_lock_holder("cluster") is None


def test_retry_resets_times_to_unset(dag_app, files, manual):
    dag = create(templates.LINEAR, fail_at(files, 1))
    manual.drain()
    assert engine.views.dag_dto(reload(dag), False)["end_time"] != UNSET_TIME
    engine.operate(dag.id, "RETRY")
    body = engine.views.dag_dto(reload(dag), False)
    assert (body["start_time"], body["end_time"]) == (UNSET_TIME, UNSET_TIME)


# ---- the refusal matrix -------------------------------------------------------------------

def _state(name: str, files, manual) -> int:
    """Bring a DAG into the named (state, operator) situation; return its id."""
    passable = {"can_pass": True}
    params = fail_at(files, 2, how=passable if name == "passed" else {},
                     nodes={"1": {"rollback_fail_until": files.marker("never")}}
                     if name == "failed_rollback" else ({"3": passable} if name == "passed" else {}))
    dag = create(templates.LINEAR, params)
    if name in ("running", "cancelling"):
        if name == "cancelling":
            engine.operate(dag.id, "CANCEL")
        return dag.id
    if name == "cancelled":
        engine.operate(dag.id, "CANCEL")
    manual.drain()
    if name == "succeed":
        fix(files, 2)
        engine.operate(dag.id, "RETRY")
    elif name in ("rolled_back", "rolling_back", "failed_rollback"):
        engine.operate(dag.id, "ROLLBACK")
    elif name == "passed":
        engine.operate(dag.id, "PASS")
    if name != "rolling_back":
        manual.drain()
    return dag.id


EXPECTED_STATE = {
    "running": ("READY", "RUN"), "cancelling": ("READY", "CANCEL"), "failed": ("FAILED", "RUN"),
    "succeed": ("SUCCEED", "RUN"), "rolled_back": ("SUCCEED", "ROLLBACK"),
    "rolling_back": ("READY", "ROLLBACK"), "failed_rollback": ("FAILED", "ROLLBACK"),
    "cancelled": ("FAILED", "CANCEL"), "passed": ("SUCCEED", "PASS"),
}
NOOP, OK = "no-op", "accepted"
MATRIX = {
    "RETRY": {"running": NOOP, "cancelling": "RetryNotFailedDag", "failed": OK, "succeed": NOOP,
              "rolled_back": "RetryNotFailedDag", "rolling_back": "RetryNotFailedDag",
              "failed_rollback": "RetryNotAllowed", "cancelled": OK,
              "passed": "RetryNotFailedDag"},
    "ROLLBACK": {"running": "RollbackNotFailedDag", "cancelling": "RollbackNotFailedDag",
                 "failed": OK, "succeed": "RollbackNotFailedDag", "rolled_back": NOOP,
                 "rolling_back": NOOP, "failed_rollback": OK, "cancelled": OK,
                 "passed": "RollbackNotFailedDag"},
    "CANCEL": {"running": OK, "cancelling": NOOP, "failed": "CancelFinishedDag",
               "succeed": "CancelFinishedDag", "rolled_back": "CancelFinishedDag",
               "rolling_back": "CancelNotAllowed", "failed_rollback": "CancelFinishedDag",
               "cancelled": "CancelFinishedDag", "passed": "CancelFinishedDag"},
    "PASS": {"running": "PassNotFailedDag", "cancelling": "PassNotFailedDag",
             "failed": "PassNotAllowed", "succeed": "PassNotFailedDag",
             "rolled_back": "PassNotFailedDag", "rolling_back": "PassNotFailedDag",
             "failed_rollback": "PassNotAllowed", "cancelled": "PassNotAllowed", "passed": NOOP},
}
CASES = [(op, state, want) for op, row in MATRIX.items() for state, want in row.items()]


@pytest.mark.parametrize("operator,state,want", CASES)
def test_operator_matrix_over_the_api(api, files, manual, operator, state, want):
    dag_id = _state(state, files, manual)
    before = reload(engine.get_dag(dag_id))
    assert (before.state, before.operator) == EXPECTED_STATE[state]
    resp = api.post(f"/dag/1{dag_id}", {"operator": operator.lower(), "extra": 1})
    after = reload(before)
    if want in (NOOP, OK):
        assert resp.status_code == 200, resp.get_json()
        assert "data" not in resp.get_json()
        changed = (after.state, after.operator, after.updated_at) != (
            before.state, before.operator, before.updated_at)
        assert changed is (want == OK)
    else:
        assert resp.status_code == 400
        assert resp.get_json()["error"]["errCode"] == f"Task.Dag.Operator.{want}"
        assert (after.state, after.operator, after.updated_at) == (
            before.state, before.operator, before.updated_at)


@pytest.mark.parametrize("operator,node,flag,err,message", [
    ("RETRY", 2, "can_retry", "RetryNotAllowed", "Failed to set DAG retry: node stage 2 cannot retry"),
    ("ROLLBACK", 1, "can_rollback", "RollbackNotAllowed",
     "Failed to set DAG rollback: node stage 1 cannot rollback"),
    ("PASS", 3, "can_pass", "PassNotAllowed", "Failed to pass DAG: node stage 2 cannot pass"),
])
def test_flag_refusals_name_the_node(dag_app, files, operator, node, flag, err, message):
    nodes = {str(node): {flag: False}} if node != 2 else {}
    how = {flag: False} if node == 2 else {}
    if operator == "PASS":
        nodes, how = {"3": {"can_pass": True}}, {}
    dag = create(templates.LINEAR, fail_at(files, 2, how=how, nodes=nodes))
    with pytest.raises(DagError) as caught:
        engine.operate(dag.id, operator)
    assert (engine_error(caught.value).err_code, str(caught.value)) == (f"Task.Dag.Operator.{err}", message)


def test_cancel_refused_when_a_started_node_cannot_cancel(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"can_cancel": False}}))
    with pytest.raises(DagError) as caught:
        engine.operate(dag.id, "CANCEL")
    assert engine_error(caught.value).err_code == "Task.Dag.Operator.CancelNotAllowed"
    assert str(caught.value) == "Failed to cancel DAG: node stage 1 cannot cancel"


@pytest.mark.parametrize("operator", ["RUN", "retry ", "", "STOP"])
def test_unknown_operator(api, files, manual, operator):
    dag = create(templates.LINEAR, files.params())
    resp = api.post(f"/dag/1{dag.id}", {"operator": operator})
    assert resp.status_code == 400
    assert resp.get_json()["error"] == {"errCode": "Task.Dag.Operator.NotSupport",
                                        "message": f"Operator {operator} is not supported"}


@pytest.mark.parametrize("body", [{}, {"operator": None}, {"operator": 3}])
def test_operator_body_must_bind(api, files, manual, body):
    dag = create(templates.LINEAR, files.params())
    resp = api.post(f"/dag/1{dag.id}", body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errCode"] == "Common.BindJsonFailed"


@pytest.mark.parametrize("situation,operator,err", [
    ("failed", "RETRY", "NotSupport"),
    ("running", "PASS", "PassNotFailedDag"),
    ("failed_other_node", "PASS", "PassNotFailedNode"),
    ("failed", "PASS", "PassNotAllowed"),
])
def test_node_operator_refusals(api, files, manual, situation, operator, err):
    dag = create(templates.LINEAR, fail_at(files, 2))
    if situation != "running":
        manual.drain()
    index = 0 if situation == "failed_other_node" else 1
    node = engine.views.dag_dto(reload(dag), True)["nodes"][index]
    resp = api.post(f"/node/{node['id']}", {"operator": operator})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errCode"] == f"Task.Node.Operator.{err}"


@pytest.mark.parametrize("via_node", [False, True])
def test_template_pass_guard_refuses_both_ways(dag_app, files, monkeypatch, via_node):
    monkeypatch.setattr(engine.template(templates.LINEAR), "pass_guard",
                        lambda dag, store: "not ready")
    dag = create(templates.LINEAR, fail_at(files, 3, how={"can_pass": True}))
    with pytest.raises(DagError) as refused:
        if via_node:
            engine.operate_node(engine.views.dag_dto(reload(dag), True)["nodes"][2]["node_id"], "PASS")
        else:
            engine.operate(dag.id, "PASS")
    assert engine_error(refused.value).err_code.endswith("Operator.PassNotAllowed")
    assert str(refused.value).endswith(": not ready")
    assert (reload(dag).state, reload(dag).operator) == ("FAILED", "RUN")


def test_cancel_resets_times_to_unset(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params(nodes={"2": {"waits": 1, "wait_delay": 60}}))
    (args, _), = manual.jobs
    manual.jobs.clear()
    claims.claim(engine.store, *args, dag_app.config)  # the first stage is running: the DAG has a start time
    assert engine.views.dag_dto(reload(dag), False)["start_time"] != UNSET_TIME
    engine.operate(dag.id, "CANCEL")
    dto = engine.views.dag_dto(reload(dag), False)
    assert (dto["operator"], dto["start_time"], dto["end_time"]) == ("CANCEL", UNSET_TIME, UNSET_TIME)


def test_an_operator_passed_on_by_a_peer_is_not_passed_back(api, files, manual):
    dag = create(templates.LINEAR, fail_at(files, 2))
    manual.drain()
    fix(files, 2)
    resp = api.post(f"/dag/1{dag.id}", {"operator": "RETRY", "propagate": False})
    assert resp.status_code == 200, resp.get_json()
    assert reload(dag).propagate_pending is None
    manual.drain()
    assert (reload(dag).state, reload(dag).stage) == ("SUCCEED", 3)
    assert files.lines("propagate") == []
    assert len(files.lines("exec")) == 4  # stage 1, stage 2 twice (one RETRY: one run), stage 3


def test_cancel_is_refused_while_a_rollback_runs(dag_app, files):
    dag = create(templates.LINEAR, fail_at(files, 2, propagate_waits=2))
    engine.operate(dag.id, "ROLLBACK")
    with pytest.raises(DagError) as caught:
        engine.operate(dag.id, "CANCEL")
    assert engine_error(caught.value).err_code == "Task.Dag.Operator.CancelNotAllowed"
    assert "rolling back" in str(caught.value)
    assert (reload(dag).operator, reload(dag).cancel_requested) == ("ROLLBACK", False)
    run_scheduled()
    assert (reload(dag).state, reload(dag).operator) == ("SUCCEED", "ROLLBACK")
    assert [line.split()[2] for line in files.lines("rollback")] == ["2.0", "1.0"]
