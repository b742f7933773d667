"""Each obemu fault fails the scale-out with a plain-words log; RETRY after the fix succeeds,
ROLLBACK restores the state from before, item by item."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth
from obshell.service.client_v1 import TaskExecuteFailedError

from tests.support.scaleout import module_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.0.51"
# Short budgets so that waits end within seconds; the relations between them stay valid.
BUDGETS = {"OBSCALE_SCALE_OUT_SERVING_TIMEOUT_S": "5",
           "OBSCALE_SCALE_OUT_DELETE_SERVER_TIMEOUT_S": "6",
           "OBSCALE_SCALE_OUT_SQL_TIMEOUT_S": "6",
           "OBSCALE_OBSERVER_START_TIMEOUT_S": "20"}


setup = module_setup("scale-out-faults", COORDINATOR, BUDGETS)


def fail_scale_out(client, ip: str, zone: str) -> tuple[str, str]:
    """Start a scale-out that must fail; return its id and the SDK's failure message."""
    dag = client.scale_out(ip, 2886, zone, {"mysql_port": "2881", "rpc_port": "2882"})
    with pytest.raises(TaskExecuteFailedError) as failed:
        client.wait_dag_succeed(dag.generic_id)
    return dag.generic_id, str(failed.value)


def info(ip: str) -> dict:
    return requests.get(f"http://{ip}:2886/api/v1/info", timeout=10).json()["data"]


def assert_clean(setup, client, ip: str, zone: str, zone_existed: bool) -> None:
    """Nothing of the scale-out is left: server, zone, target identity, dirs, observer, lock."""
    assert setup.server_row(ip) is None
    assert (setup.zone_status(zone) is not None) == zone_existed
    target = setup.targets[ip]
    assert info(ip)["identity"] == "SINGLE"
    assert not (target.home / "store").exists()
    assert not (target.home / "run" / "observer.pid").exists() or not _alive(target.home)
    assert client.get_cluster_unfinished_dag() == []
    local = ClientV1(ip, 2886, PasswordAuth("")).get_agent_last_maintenance_dag()
    assert (local.state, local.operator) == ("SUCCEED", "ROLLBACK")
    assert local.additional_data["rolled_back"] is True


def _alive(home: Path) -> bool:
    pid = int((home / "run" / "observer.pid").read_text().strip())
    return Path(f"/proc/{pid}").exists()


def test_crash_on_start_then_retry(setup, client, faults):
    setup.add_target("127.0.0.52")
    faults.add("127.0.0.52:2882", "crash_on_start")
    dag_id, message = fail_scale_out(client, "127.0.0.52", "zone1")
    assert "Start observer" in message and ("exited" in message or "gone" in message)
    assert "observer start failed" in message
    faults.clear("127.0.0.52:2882")
    assert client.operate_dag_sync(dag_id, "RETRY") is True
    assert setup.server_row("127.0.0.52")[1] == "ACTIVE"
    assert len(setup.statements("ADD SERVER '127.0.0.52:2882'")) == 1


def test_refuse_add_server_then_rollback_into_new_zone(setup, client, faults):
    setup.add_target("127.0.0.53")
    faults.add("127.0.0.53:2882", "refuse_add_server")
    dag_id, message = fail_scale_out(client, "127.0.0.53", "zone3")
    assert "4179" in message and "add non-empty server" in message
    assert setup.zone_status("zone3") == "ACTIVE"  # created by this DAG, undone below
    assert client.operate_dag_sync(dag_id, "ROLLBACK") is True
    assert_clean(setup, client, "127.0.0.53", "zone3", zone_existed=False)


@pytest.mark.parametrize("ip,fault,reasons", [
    ("127.0.0.54", "rpc_unreachable", ["cannot reach the new server over RPC"]),
    ("127.0.0.55", "never_active", ["START_SERVICE_TIME is NULL", "STATUS is INACTIVE"]),
])
def test_timeout_then_rollback_keeps_existing_zone(setup, client, faults, ip, fault, reasons):
    setup.add_target(ip)
    faults.add(f"{ip}:2882", fault)
    dag_id, message = fail_scale_out(client, ip, "zone1")
    assert "timed out after" in message
    assert any(reason in message for reason in reasons), message
    assert client.operate_dag_sync(dag_id, "ROLLBACK") is True
    assert_clean(setup, client, ip, "zone1", zone_existed=True)


def test_slow_start_beyond_budget_then_retry(setup, client, faults):
    setup.add_target("127.0.0.56")
    faults.add("127.0.0.56:2882", "slow_start:8")
    dag_id, message = fail_scale_out(client, "127.0.0.56", "zone1")
    assert "timed out after 5 s: waiting: START_SERVICE_TIME is NULL" in message
    assert client.operate_dag_sync(dag_id, "RETRY") is True
    assert setup.server_row("127.0.0.56")[2] is not None
    assert len(setup.statements("ADD SERVER '127.0.0.56:2882'")) == 1


def test_refuse_add_server_then_one_retry_sends_it_once(setup, client, faults):
    setup.add_target("127.0.0.57")
    faults.add("127.0.0.57:2882", "refuse_add_server")
    dag_id, message = fail_scale_out(client, "127.0.0.57", "zone1")
    assert "4179" in message
    faults.clear("127.0.0.57:2882")
    assert client.operate_dag_sync(dag_id, "RETRY") is True
    sent = setup.statements("ADD SERVER '127.0.0.57:2882'")
    assert [code for _, code in sent] == [4179, 0], sent  # the refused one, then one attempt
