"""An ALTER SYSTEM that outlasts its session's ob_query_timeout: OceanBase answers 4012 while
RootService goes on. The coordinator neither fails nor sends it again; it reads until the effect
lands, so the scale-out succeeds with exactly one ADD SERVER effect."""
from __future__ import annotations

import sqlite3

import pytest
from obshell.service.client_v1 import TaskExecuteFailedError

from tests.support.scaleout import module_setup

pytestmark = pytest.mark.integration
# 127.0.8.x belongs to this module.
COORDINATOR = "127.0.8.1"
SESSION_TIMEOUT_S = 4  # SCALE_OUT_SQL_TIMEOUT_S: the ALTER's ob_query_timeout and its stage's budget
HANG_S = 6  # past the session timeout, within the stage's wait after the 4012
ADD_SERVER_STAGE = 7  # 1-based, existing zone
BUDGETS = {"OBSCALE_SCALE_OUT_SQL_TIMEOUT_S": str(SESSION_TIMEOUT_S),
           "OBSCALE_SCALE_OUT_SERVING_TIMEOUT_S": "30"}
LANDED = "late: applied (after its session answered 4012)"


setup = module_setup("slow-alter-system", COORDINATOR, BUDGETS)


def add_server_log(setup, ip: str) -> list[tuple[int, str]]:
    """(code, message) of every emu_statements row of `ADD SERVER '<ip>:2882'`, in order."""
    conn = sqlite3.connect(str(setup.cluster.state_path))
    try:
        return conn.execute("SELECT code, message FROM emu_statements WHERE sql LIKE ? ORDER BY id",
                            (f"%ADD SERVER '{ip}:2882'%",)).fetchall()
    finally:
        conn.close()


def stage_log(client, generic_id: str) -> list[str]:
    node = client.get_dag(generic_id).nodes[ADD_SERVER_STAGE - 1]
    return [line for task in node.sub_tasks for line in (task.task_logs or [])]


def test_slow_add_server_times_out_then_lands_once(setup, client, faults):
    setup.add_target("127.0.8.2")
    faults.add(f"{COORDINATOR}:2882", f"hang:^ALTER SYSTEM ADD SERVER:{HANG_S}")
    dag = client.scale_out("127.0.8.2", 2886, "zone1", {"mysql_port": "2881", "rpc_port": "2882"})
    done = client.wait_dag_succeed(dag.generic_id)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert done.additional_data["readiness"] == "verified"
    assert setup.server_row("127.0.8.2")[:2] == ("zone1", "ACTIVE")
    # Sent once: OceanBase's 4012 answer, then RootService's one effect, landed after it.
    sent = add_server_log(setup, "127.0.8.2")
    assert [code for code, _ in sent] == [4012, 0], sent
    assert "maximum query timeout: 4000000(us)" in sent[0][1]
    assert sent[1][1] == LANDED
    log = stage_log(client, dag.generic_id)
    assert any("ADD SERVER timed out (4012)" in line and "not sent again" in line
               for line in log), log
    assert any("whose answer was lost has landed" in line for line in log), log


def test_an_effect_that_never_lands_fails_the_stage_and_retry_sends_it_again(setup, client, faults):
    setup.add_target("127.0.8.3")
    # RootService goes on past the 4012 and then refuses: nothing lands.
    faults.add(f"{COORDINATOR}:2882", f"hang:^ALTER SYSTEM ADD SERVER:{HANG_S}")
    faults.add(f"{COORDINATOR}:2882", "sql_error:^ALTER SYSTEM ADD SERVER:4179")
    dag = client.scale_out("127.0.8.3", 2886, "zone1", {"mysql_port": "2881", "rpc_port": "2882"})
    with pytest.raises(TaskExecuteFailedError) as failed:
        client.wait_dag_succeed(dag.generic_id)
    assert f"timed out after {SESSION_TIMEOUT_S} s" in str(failed.value)
    assert "ADD SERVER timed out (4012)" in str(failed.value)
    assert setup.server_row("127.0.8.3") is None
    assert [code for code, _ in add_server_log(setup, "127.0.8.3")] == [4012, 4179]  # sent once
    faults.clear(f"{COORDINATOR}:2882")
    assert client.operate_dag_sync(dag.generic_id, "RETRY") is True
    assert setup.server_row("127.0.8.3")[:2] == ("zone1", "ACTIVE")
    # A RETRY is a new execution: it reads first, finds nothing, and sends it once more.
    assert [code for code, _ in add_server_log(setup, "127.0.8.3")] == [4012, 4179, 0]
