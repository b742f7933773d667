"""A target whose cluster members all died before the cluster began its ADD SERVER: its watch
runs out, and its ROLLBACK goes on alone to a clean SINGLE agent (spec/cluster-store.md §6)."""
from __future__ import annotations

import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support import v2
from tests.support.agents import alive
from tests.support.holds import HOLD_DIR_ENV, hold_file, reached
from tests.support.members import kill_tree
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, held_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.5.10"
TARGET = "127.0.5.11"
# A short watch: the coordinator's serving budget and SQL read margins bound it from below
# (app.config.check_budgets), so those are short too.
SHORT_WATCH = {"OBSCALE_SCALE_OUT_SERVING_TIMEOUT_S": "2", "OBSCALE_OB_READ_TIMEOUT_S": "1",
               "OBSCALE_SCALE_OUT_SQL_TIMEOUT_S": "1", "OBSCALE_SCALE_OUT_WATCH_TIMEOUT_S": "14"}


@pytest.fixture
def setup(tmp_path, holds):
    with held_setup(tmp_path / "cluster", COORDINATOR, holds, SHORT_WATCH) as running:
        yield running


def test_target_rolls_back_alone_when_the_cluster_never_began_adding_it(setup, holds):
    target = setup.add_target(TARGET, {HOLD_DIR_ENV: ""})
    hold = hold_file(holds, "cluster", 6)  # 'Prev check for scale_out': before ADD SERVER
    hold.touch()
    coordinator = ClientV1(COORDINATOR, 2886, PasswordAuth(ROOT_PASSWORD))
    coordinator.scale_out(TARGET, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
    wait_until(reached(hold).exists, 90, what="the coordinator held before its stage 6")
    observer_pid = int((target.home / "run" / "observer.pid").read_text().strip())
    assert alive(observer_pid)
    kill_tree(setup.coordinator)  # the only member: no one can answer for the cluster DAG

    local = ClientV1(TARGET, 2886, PasswordAuth(ROOT_PASSWORD))
    failed = wait_until(lambda: _failed(local), 90, what="the target's watch ran out")
    assert failed.stage == 6, failed
    assert local.operate_dag_sync(failed.generic_id, "ROLLBACK") is True
    done = wait_until(lambda: _ended(local, failed.generic_id), 120,
                      what="the target's rollback ended")
    assert (done.state, done.operator) == ("SUCCEED", "ROLLBACK")
    info = v2.send(target.base_url, "GET", "/api/v1/info").json()["data"]
    assert info["identity"] == "SINGLE"
    assert not alive(observer_pid)
    assert not (target.home / "store" / "clog").exists()
    assert setup.server_row(TARGET) is None  # the cluster never had it
    logs = "\n".join(line for node in done.nodes for task in node.sub_tasks
                     for line in (task.task_logs or []))
    assert "rolling back without it" in logs


def _failed(client):
    dag = client.get_agent_last_maintenance_dag()
    return dag if dag.state == "FAILED" else None


def _ended(client, generic_id):
    dag = client.get_dag(generic_id)
    return dag if dag.state in ("SUCCEED", "FAILED") and dag.operator == "ROLLBACK" else None
