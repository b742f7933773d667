"""Forward execution: creation, stage advance, waits, budgets, failures, duplicates, claims."""
import json

import pytest

from app.dag import claim as claims
from app.dag import runner
from tests.support.engine_proxy import engine
from app.dag.context import ClaimLost, TaskContext
from app.dag.dto import UNSET_TIME
from app.dag.models import Dag, MaintenanceLock, SubTask, SubTaskLog
from app.dag.template import DagTemplate, NodeSpec, TaskSpec
from app.db import database
from tests.support import dag_templates as templates
from tests.unit.dag.conftest import create, last_log, node_states, reload, run_scheduled, sub_tasks


def test_create_is_one_transaction_with_rows_lock_and_one_message(manual, files):
    dag = create(templates.LINEAR, files.params(stages=4), lock_key="fp-1")
    assert (dag.state, dag.operator, dag.stage, dag.max_stage) == ("READY", "RUN", 1, 4)
    assert node_states(dag) == [("PENDING", "RUN")] * 4
    first = sub_tasks(dag)[0]
    assert manual.jobs == [((first.id, 0, 0), None)]
    assert engine.find_lock_holder("cluster").id == dag.id
    assert engine.find_lock_holder("cluster").lock_key == "fp-1"
    body = engine.views.dag_dto(reload(dag), False)
    assert body == {"id": f"1{dag.id}", "dag_id": dag.id, "name": "Test linear", "stage": 1,
                    "max_stage": 4, "maintenance_type": 2, "maintenance_key": "",
                    "state": "READY", "operator": "RUN", "start_time": UNSET_TIME,
                    "end_time": UNSET_TIME, "additional_data": None, "nodes": None}


def test_dag_runs_every_stage_once_in_order_and_releases_the_lock(dag_app, files):
    dag = reload(create(templates.LINEAR, files.params(stages=4)))
    assert (dag.state, dag.operator, dag.stage) == ("SUCCEED", "RUN", 4)
    assert [line.split()[2] for line in files.lines("exec")] == ["1.0", "2.0", "3.0", "4.0"]
    assert files.lines("finish") == [f"finish {dag.id} SUCCEED"]
    assert node_states(dag) == [("SUCCEED", "RUN")] * 4
    assert all(s.execute_times == 1 and s.claim_owner is None for s in sub_tasks(dag))
    assert engine.find_lock_holder("cluster") is None
    assert dag.context_dict()["done_4_0"] is True
    body = engine.views.dag_dto(dag, True)
    assert body["additional_data"] == {"nodes": [1, 2, 3, 4]}
    assert body["start_time"] != UNSET_TIME and body["end_time"] != UNSET_TIME


def test_tasks_of_a_node_run_in_order(dag_app, files):
    dag = reload(create(templates.LINEAR, files.params(stages=2, tasks_per_node=2)))
    assert dag.state == "SUCCEED"
    assert [line.split()[2] for line in files.lines("exec")] == ["1.0", "1.1", "2.0", "2.1"]


def test_wait_reschedules_without_a_new_execution(dag_app, files):
    dag = create(templates.LINEAR, files.params(nodes={"2": {"waits": 2, "wait_delay": 5}}))
    waiting = sub_tasks(dag)[1]
    assert reload(dag).state == "RUNNING"
    assert (waiting.state, waiting.claim_owner, waiting.execute_times) == ("RUNNING", None, 1)
    assert waiting.wait_started_at is not None and waiting.next_check_at > waiting.wait_started_at
    assert run_scheduled() == 2
    waited = SubTask.get_by_id(waiting.id)
    assert (waited.state, waited.execute_times) == ("SUCCEED", 1)
    assert waited.check_seq == 3
    assert reload(dag).state == "SUCCEED"
    logs = [e.log_content for e in SubTaskLog.select().where(SubTaskLog.sub_task == waiting.id)]
    assert logs == ["waiting: check 1", "waiting: check 2"]


def test_budget_turns_an_endless_wait_into_a_failure_naming_the_wait(dag_app, files):
    params = files.params(nodes={"2": {"waits": 10 ** 6, "wait_delay": 0.001, "budget_s": 0.05}})
    dag = create(templates.LINEAR, params)
    run_scheduled(limit=10 ** 6)
    dag = reload(dag)
    assert (dag.state, dag.operator, dag.stage) == ("FAILED", "RUN", 2)
    assert last_log(sub_tasks(dag)[1]) == "timed out after 0.05 s: node 2 not ready"
    assert engine.find_lock_holder("cluster").id == dag.id


@pytest.mark.parametrize("behaviour,message", [
    ({"fail_until": "/nonexistent/marker"}, "marker marker is missing"),
    ({"error": True}, "unexpected error: RuntimeError"),
])
def test_failure_records_the_reason_as_the_last_log_line(dag_app, files, behaviour, message):
    dag = reload(create(templates.LINEAR, files.params(nodes={"2": behaviour})))
    assert (dag.state, dag.operator, dag.stage) == ("FAILED", "RUN", 2)
    assert dag.end_time is not None
    assert node_states(dag) == [("SUCCEED", "RUN"), ("FAILED", "RUN"), ("PENDING", "RUN")]
    assert last_log(sub_tasks(dag)[1]) == message
    assert engine.find_lock_holder("cluster").id == dag.id
    assert files.lines("finish") == []


def test_creating_a_dag_of_an_unknown_template_is_refused(dag_app, files):
    ghost = DagTemplate("Ghost", templates.nodes, maintenance_type=1)
    with pytest.raises(ValueError, match="not one of this engine's"):
        engine.create_dag(ghost, files.params())
    assert Dag.select().count() == 0


def test_a_dag_whose_template_the_worker_lacks_fails_visibly(manual, files, monkeypatch):
    dag = create(templates.PLAIN, files.params())
    monkeypatch.delitem(engine.templates, templates.PLAIN)  # a worker of another version
    manual.drain()
    assert reload(dag).state == "FAILED"
    assert last_log(sub_tasks(dag)[0]) == \
        f"DAG template {templates.PLAIN!r} is not registered in this worker"


def test_duplicate_and_stale_messages_are_dropped(manual, files):
    dag = create(templates.LINEAR, files.params(stages=2))
    first_message = manual.jobs[0]
    manual.jobs.append(first_message)
    manual.drain()
    assert [line.split()[2] for line in files.lines("exec")] == ["1.0", "2.0"]
    manual.jobs.append(first_message)
    manual.drain()
    assert len(files.lines("exec")) == 2
    assert reload(dag).state == "SUCCEED"


def test_a_live_claim_is_not_taken_over_but_a_dead_one_is(manual, files, dag_app):
    dag = create(templates.LINEAR, files.params(stages=1))
    (args, _), = manual.jobs
    taken = claims.claim(engine.store, *args, dag_app.config)
    assert taken is not None
    current = SubTask.get_by_id(args[0])
    message = (current.id, current.execute_times, current.check_seq)
    assert claims.claim(engine.store, *message, dag_app.config) is None  # held by this (live) process
    SubTask.update(claim_owner="999999999:dead").where(SubTask.id == current.id).execute()
    again = claims.claim(engine.store, *message, dag_app.config)
    assert again is not None and again.sub_task.execute_times == 1
    assert again.sub_task.check_seq == message[2] + 1
    assert reload(dag).state == "RUNNING"


def test_expired_claim_is_taken_over(manual, files, dag_app):
    create(templates.LINEAR, files.params(stages=1))
    (args, _), = manual.jobs
    claims.claim(engine.store, *args, dag_app.config)
    current = SubTask.get_by_id(args[0])
    SubTask.update(claim_expires_at=0).where(SubTask.id == current.id).execute()
    assert claims.claim(engine.store, current.id, current.execute_times, current.check_seq, dag_app.config)


def test_a_run_that_lost_its_claim_cannot_write_or_record(manual, files, dag_app):
    dag = create(templates.LINEAR, files.params(stages=1))
    (args, _), = manual.jobs
    taken = claims.claim(engine.store, *args, dag_app.config)
    ctx = TaskContext(engine.store, taken.dag, taken.sub_task, "1", "execute", dag_app.config)
    ctx.set("mine", 1)
    SubTask.update(check_seq=SubTask.check_seq + 1).where(SubTask.id == args[0]).execute()
    with pytest.raises(ClaimLost):
        ctx.set("mine", 2)
    assert runner.record(engine.store, taken, runner.Outcome("success")) == ([], None)
    assert reload(dag).context_dict()["mine"] == 1
    assert SubTask.get_by_id(args[0]).state == "RUNNING"


def test_context_local_data_and_log_change(manual, files, dag_app):
    create(templates.LINEAR, files.params(stages=1))
    (args, _), = manual.jobs
    taken = claims.claim(engine.store, *args, dag_app.config)
    ctx = TaskContext(engine.store, taken.dag, taken.sub_task, "1", "execute", dag_app.config)
    ctx.update({"a": 1, "b": [2]})
    ctx.set_local("k", "v")
    ctx.set_data("shown", True)
    for key in ("x", "x", "y", "x"):
        ctx.log_change(key, f"state {key}")
    row = SubTask.get_by_id(args[0])
    assert json.loads(row.local_data) == {"k": "v"}
    assert json.loads(row.additional_data) == {"shown": True}
    assert ctx.params["a"] == 1 and not ctx.cancelled() and ctx.waited_s() == 0.0
    logs = [e.log_content for e in SubTaskLog.select().where(SubTaskLog.sub_task == args[0])]
    assert logs == ["state x", "state y", "state x"]


def test_create_inside_a_transaction_is_refused(dag_app, files):
    with database.atomic():
        with pytest.raises(RuntimeError):
            create(templates.LINEAR, files.params())


def test_template_without_nodes_is_refused(dag_app):
    empty = DagTemplate("Empty", lambda params: [NodeSpec("n", [])])
    with pytest.raises(ValueError):
        engine.create_dag(empty, {})


def test_budget_callable_is_capped_by_the_ceiling():
    spec = TaskSpec("t", execute=lambda ctx: None, budget_s=lambda config: config["X"])
    assert spec.budget({"X": 5, "SUBTASK_CEILING_S": 3600}) == 5
    assert spec.budget({"X": 10 ** 6, "SUBTASK_CEILING_S": 3600}) == 3600
    assert TaskSpec("t", execute=lambda ctx: None).budget({"SUBTASK_CEILING_S": 7}) == 7


def test_lock_rows_are_per_scope(dag_app, files):
    cluster = create(templates.LINEAR, files.params(nodes={"1": {"fail_until": "/no"}}))
    local = create(templates.LOCAL, files.params(nodes={"1": {"fail_until": "/no"}}))
    locks = {row.scope: row.dag_id for row in MaintenanceLock.select()}
    assert locks == {"cluster": cluster.id, "agent": local.id}


def test_a_broken_budget_fails_the_sub_task_visibly(dag_app, files, monkeypatch):
    broken = DagTemplate("Broken budget", lambda params: [NodeSpec("n", [TaskSpec(
        "t", execute=lambda ctx: None, budget_s=lambda config: config["NO_SUCH_SETTING"])])],
        maintenance_type=1)
    monkeypatch.setitem(engine.templates, broken.name, broken)
    dag = reload(engine.create_dag(broken, files.params()))
    assert dag.state == "FAILED"
    assert last_log(sub_tasks(dag)[0]) == "unexpected error: KeyError"
