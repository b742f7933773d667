"""The recovery sweep: lost messages, dead claims, lost wait checks, orphaned locks."""
import time

import pytest

from app.dag import claim as claims
from app.dag import lock
from app.dag.errors import LockHeld
from tests.support.engine_proxy import engine
from app.dag.models import Dag, MaintenanceLock, SubTask
from tests.support import dag_templates as templates
from tests.unit.dag.conftest import create, reload, sub_tasks

DEAD_OWNER = "999999999:gone"


def test_eager_sweep_requeues_a_lost_first_message(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params())
    manual.jobs.clear()  # the message died with the consumer
    assert len(engine.sweep(eager=False)) == 0
    assert len(engine.sweep(eager=True)) == 1
    manual.drain()
    assert reload(dag).state == "SUCCEED"


def test_periodic_sweep_waits_for_a_claim_period(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params())
    manual.jobs.clear()
    first = sub_tasks(dag)[0]
    SubTask.update(ready_at=time.time() - dag_app.config["CLAIM_TTL_S"] - 1).where(
        SubTask.id == first.id).execute()
    assert [job.sub_task_id for job in engine.sweep()] == [first.id]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_dead_claim_is_rerun_and_effects_stay_exactly_once(dag_app, files, manual, stage):
    dag = create(templates.LINEAR, files.params())
    for _ in range(stage - 1):
        manual.step()
    (args, _), = manual.jobs
    manual.jobs.clear()
    claims.claim(engine.store, *args, dag_app.config)  # the run started ...
    templates.record(str(files.effects), f"effect {dag.id} {stage}.0")  # ... acted, then died
    SubTask.update(claim_owner=DEAD_OWNER).where(SubTask.id == args[0]).execute()
    assert len(engine.sweep()) == 1
    manual.drain()
    assert reload(dag).state == "SUCCEED"
    assert files.effects.read_text().splitlines() == [f"effect {dag.id} {n}.0" for n in (1, 2, 3)]
    assert sub_tasks(dag)[stage - 1].execute_times == 1


def test_live_unexpired_claim_is_left_alone(dag_app, files, manual):
    create(templates.LINEAR, files.params())
    (args, _), = manual.jobs
    manual.jobs.clear()
    claims.claim(engine.store, *args, dag_app.config)
    assert engine.sweep(eager=True) == []


def test_lost_wait_check_is_rescheduled(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"waits": 1, "wait_delay": 30}}))
    manual.step()
    assert manual.jobs[0][1] == pytest.approx(30, abs=1)
    manual.jobs.clear()
    (job,) = engine.sweep(eager=True)
    assert 0 < job.delay <= 30
    assert engine.sweep(eager=False) == []
    SubTask.update(next_check_at=time.time() - dag_app.config["CLAIM_TTL_S"] - 1).where(
        SubTask.id == job.sub_task_id).execute()
    (late,) = engine.sweep(eager=False)
    assert late.delay is None
    manual.jobs.clear()
    manual.jobs.append((late[:3], None))
    manual.drain()
    assert reload(dag).state == "SUCCEED"


@pytest.mark.parametrize("holder_state,released", [
    ("SUCCEED", True), ("MISSING", True), ("FAILED", False), ("RUNNING", False)])
def test_orphaned_locks_are_released(dag_app, files, holder_state, released):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"fail_until": "/none"}}))
    if holder_state == "MISSING":
        MaintenanceLock.update(dag_id=dag.id + 1000).execute()
    elif holder_state != "FAILED":
        Dag.update(state=holder_state).where(Dag.id == dag.id).execute()
    engine.sweep()
    row = MaintenanceLock.get_by_id("cluster")
    assert (row.dag_id is None) is released


def test_create_takes_over_an_orphaned_lock(dag_app, files):
    MaintenanceLock.insert(scope="cluster", dag_id=4242).execute()
    dag = create(templates.LINEAR, files.params())
    assert reload(dag).state == "SUCCEED"


def test_held_lock_refuses_a_second_dag_and_names_the_holder(dag_app, files):
    first = create(templates.LINEAR, files.params(nodes={"1": {"fail_until": "/none"}}))
    with pytest.raises(LockHeld) as caught:
        create(templates.LINEAR, files.params())
    assert caught.value.holder.id == first.id
    assert f"DAG {first.id} (Test linear, FAILED/RUN)" in str(caught.value)
    assert Dag.select().count() == 1
    create(templates.PLAIN, files.params())  # not a maintenance DAG: no lock needed
    create(templates.LOCAL, files.params())  # the agent lock is a different row


def test_lock_release_is_compare_and_set(dag_app, files):
    dag = create(templates.LINEAR, files.params(nodes={"1": {"fail_until": "/none"}}))
    assert lock.release(engine.store, "cluster", dag.id + 1) is False
    assert lock.release(engine.store, "cluster", dag.id) is True
    assert lock.release(engine.store, "cluster", dag.id) is False


def test_sweep_repairs_a_dag_whose_stage_is_done(dag_app, files, manual):
    dag = create(templates.LINEAR, files.params(stages=2))
    manual.jobs.clear()
    SubTask.update(state="SUCCEED").where(SubTask.id == sub_tasks(dag)[0].id).execute()
    (job,) = engine.sweep()
    assert job.sub_task_id == sub_tasks(dag)[1].id
    assert reload(dag).stage == 2


def test_owner_liveness(dag_app):
    assert claims.owner_dead(DEAD_OWNER)
    assert claims.owner_dead("garbage")
    assert not claims.owner_dead(claims.owner_id())
    assert claims.owner_dead(claims.owner_id().split(":")[0] + ":other-token")
    assert not claims.owner_dead("1:init")


def test_the_idle_probe_sees_moving_dags_only(dag_app, files, manual):
    assert engine.has_moving_dags() is False
    dag = create(templates.LINEAR, files.params())
    assert engine.has_moving_dags() is True
    manual.drain()
    assert reload(dag).state == "SUCCEED"
    assert engine.has_moving_dags() is False
