"""The task API through the unmodified obshell SDK against a real `obscale serve`."""
from pathlib import Path

import pytest
from obshell import OBShellHandleError, TaskExecuteFailedError

from app.dag.ids import encode_local
from tests.support import dag_templates as templates
from tests.support.dag_harness import dag_agent, wait_for

pytestmark = pytest.mark.integration
IP = "127.0.0.20"


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    with dag_agent(IP, tmp_path_factory.mktemp("dag-sdk")) as running:
        yield running


@pytest.fixture
def files(tmp_path):
    class Files:
        log = tmp_path / "exec.log"
        effects = tmp_path / "effects.log"

        def params(self, **extra):
            return {"log": str(self.log), "effects": str(self.effects), **extra}

        def lines(self, kind):
            rows = self.log.read_text().splitlines() if self.log.exists() else []
            return [r for r in rows if r.startswith(kind + " ")]

        def marker(self, name):
            return str(tmp_path / name)

    return Files()


def finished(client, generic_id):
    """Poll faster than wait_dag_succeed's 3 s (which is exercised separately)."""
    return wait_for(lambda: (d := client.get_dag(generic_id)).is_finished() and d, 60, 0.05)


def test_get_dag_and_wait_dag_succeed(agent, files):
    client = agent.sdk()
    dag = agent.create(templates.PLAIN, files.params(stages=3))
    done = client.wait_dag_succeed(f"1{dag.id}")
    assert (done.state, done.operator, done.stage, done.max_stage) == ("SUCCEED", "RUN", 3, 3)
    assert done.generic_id == f"1{dag.id}" and done.dag_id == dag.id
    assert [n.name for n in done.nodes] == ["stage 1", "stage 2", "stage 3"]
    sub_task = done.nodes[0].sub_tasks[0]
    assert sub_task.execute_agent == f"{IP}:2886" and sub_task.execute_times == 1
    bare = client.get_dag(f"1{dag.id}", show_detail=False)
    assert bare.nodes == [] and bare.state == "SUCCEED"
    node = client.get_node(done.nodes[1].generic_id)
    assert node.name == "stage 2" and len(node.sub_tasks) == 1
    assert client.get_sub_task(sub_task.generic_id).task_logs == []
    assert len(files.lines("exec")) == 3


def test_failure_raises_the_sdk_error_with_the_last_log_line(agent, files):
    client = agent.sdk()
    dag = agent.create(templates.PLAIN, files.params(nodes={"2": {"fail_until": "/none"}}))
    with pytest.raises(TaskExecuteFailedError) as caught:
        client.wait_dag_succeed(f"1{dag.id}")
    assert f"{IP}:2886 marker none is missing" in caught.value.message


def test_fail_then_retry_then_success(agent, files):
    client = agent.sdk()
    marker = files.marker("fixed")
    dag = agent.create(templates.LINEAR, files.params(nodes={"2": {"fail_until": marker}}))
    assert finished(client, f"1{dag.id}").state == "FAILED"
    with pytest.raises(OBShellHandleError) as caught:
        client.operate_dag(f"1{dag.id}", "PASS")
    assert caught.value.err_code == "Task.Dag.Operator.PassNotAllowed"
    Path(marker).touch()
    assert client.operate_dag_sync(f"1{dag.id}", "RETRY") is True
    final = client.get_dag(f"1{dag.id}")
    assert (final.state, final.operator) == ("SUCCEED", "RUN")
    assert [line.split()[2] for line in files.lines("exec")] == ["1.0", "2.0", "2.0", "3.0"]
    assert client.operate_dag(f"1{dag.id}", "RETRY") is True  # idempotent repeat: 200


def test_rollback_runs_each_rollback_once_in_reverse(agent, files):
    client = agent.sdk()
    dag = agent.create(templates.LINEAR, files.params(stages=4,
                                                      nodes={"3": {"fail_until": "/none"}}))
    assert finished(client, f"1{dag.id}").state == "FAILED"
    assert client.get_ob_last_maintenance_dag()[0].dag_id == dag.id
    unfinished = client.get_unfinished_dags()
    assert [d.dag_id for d in unfinished] == [dag.id]
    assert client.operate_dag_sync(f"1{dag.id}", "ROLLBACK") is True
    final = client.get_dag(f"1{dag.id}")
    assert (final.state, final.operator, final.stage) == ("SUCCEED", "ROLLBACK", 1)
    assert final.additional_data["rolled_back"] is True
    assert [line.split()[2] for line in files.lines("rollback")] == ["3.0", "2.0", "1.0"]
    assert files.effects.read_text().splitlines()[-3:] == [f"undo {dag.id} {n}.0"
                                                          for n in (3, 2, 1)]
    assert client.get_unfinished_dags() == []
    assert client.operate_dag(f"1{dag.id}", "ROLLBACK") is True  # idempotent repeat


def test_cancel_a_waiting_dag(agent, files):
    client = agent.sdk()
    dag = agent.create(templates.PLAIN, files.params(nodes={"2": {"waits": 1000,
                                                                   "wait_delay": 1}}))
    wait_for(lambda: files.lines("exec"), 20)
    assert client.operate_dag_sync(f"1{dag.id}", "CANCEL") is True
    final = client.get_dag(f"1{dag.id}")
    assert (final.state, final.operator) == ("FAILED", "CANCEL")
    with pytest.raises(OBShellHandleError) as caught:
        client.operate_dag(f"1{dag.id}", "CANCEL")
    assert caught.value.err_code == "Task.Dag.Operator.CancelFinishedDag"


def test_maintenance_and_list_getters(agent, files):
    client = agent.sdk()
    assert client.get_agent_unfinished_dag() == []
    assert client.get_cluster_unfinished_dag() == []  # a SINGLE agent is not a cluster member
    with pytest.raises(OBShellHandleError) as caught:
        client.get_agent_last_maintenance_dag()
    assert caught.value.err_code == "Task.NotFound"
    assert client.get_all_agent_last_maintenance_dag() == []
    dag = agent.create(templates.LOCAL, files.params())
    local_id = encode_local(dag.id, IP, 2886)
    assert finished(client, local_id).state == "SUCCEED"
    assert client.get_agent_last_maintenance_dag().generic_id == local_id
    assert [d.generic_id for d in client.get_all_agent_last_maintenance_dag()] == [local_id]


@pytest.mark.parametrize("generic_id,err_code", [
    ("19999", "Task.NotFound"), ("1", "Task.GenericID.Invalid"),
    ("2123", "Task.GenericID.Invalid"), ("101", "Task.NotFound")])
def test_bad_ids_through_the_sdk(agent, generic_id, err_code):
    with pytest.raises(OBShellHandleError) as caught:
        agent.sdk().get_dag(generic_id)
    assert caught.value.err_code == err_code


def test_unknown_operator_and_lower_case(agent, files):
    client = agent.sdk()
    dag = agent.create(templates.PLAIN, files.params(nodes={"1": {"fail_until": "/none"}}))
    assert finished(client, f"1{dag.id}").state == "FAILED"
    with pytest.raises(OBShellHandleError) as caught:
        client.operate_dag(f"1{dag.id}", "STOP")
    assert caught.value.err_code == "Task.Dag.Operator.NotSupport"
    assert client.operate_dag(f"1{dag.id}", "rollback") is True
    first = client.get_dag(f"1{dag.id}")
    assert (first.state, first.operator) != ("FAILED", "RUN")
    assert finished(client, f"1{dag.id}").operator == "ROLLBACK"
