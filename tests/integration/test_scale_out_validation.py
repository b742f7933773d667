"""POST /api/v1/ob/scale_out refusals, each with its status and errCode, changing nothing;
the maintenance lock, the idempotent resubmit, CANCEL and PASS."""
from __future__ import annotations

import pytest
from obshell.service.client_v1 import OBShellHandleError, TaskExecuteFailedError

from tests.integration.helpers import db_snapshot, error_of
from tests.support import v2
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, scale_out_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.0.81"
TARGET = "127.0.0.82"  # scaled out (and PASSed) by the lock test
SPARE = "127.0.0.80"  # stays SINGLE: the refusals and the passing precheck aim at it
URI = "/api/v1/ob/scale_out"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    with scale_out_setup(tmp_path_factory.mktemp("scale-out-validation"), COORDINATOR) as running:
        running.add_target(TARGET)
        running.add_target(SPARE)
        yield running


# The cluster store's tables a refused request must not change (the maintainer lease is renewed
# every few seconds whatever happens).
CLUSTER_TABLES = ("obscale_dag", "obscale_dag_node", "obscale_sub_task", "obscale_sub_task_log",
                  "obscale_maintenance_lock", "obscale_cluster_agent")


def snapshot(setup) -> dict[str, list]:
    """The coordinator's SQLite and the cluster store's rows."""
    state = db_snapshot(setup.coordinator)
    for table in CLUSTER_TABLES:
        state[f"ocs.{table}"] = sorted(map(repr, setup.sql(f"SELECT * FROM ocs.{table}")))
    return state


def post(setup, body) -> tuple:
    resp = v2.send(setup.coordinator.base_url, "POST", URI, body=body, auth=ROOT_PASSWORD)
    return resp


def body(ip=SPARE, port=2886, zone="zone1", **configs):
    return {"agentInfo": {"ip": ip, "port": port}, "zone": zone,
            "obConfigs": {"mysql_port": "2881", "rpc_port": "2882", **configs}}


BIND_CASES = [
    ({"agentInfo": {"ip": SPARE, "port": 2886}, "obConfigs": {}}, "zone", "required"),
    ({**body(), "agentInfo": {"ip": SPARE, "port": "2886"}}, "agentInfo.port", "type"),
    ({**body(), "agentInfo": {"ip": SPARE, "port": True}}, "agentInfo.port", "type"),
    ({**body(), "obConfigs": None}, "obConfigs", "null"),
    ({**body(), "obConfigs": {"mysql_port": True}}, "obConfigs.mysql_port", "type"),
    ({**body(), "obConfigs": {"memory_limit": None}}, "obConfigs.memory_limit", "null"),
    ({**body(), "obConfigs": {"x": [1]}}, "obConfigs.x", "type"),
    ({**body(), "zone": ""}, "zone", "required"),
    ([1, 2], "", "json"),
]


@pytest.mark.parametrize("payload,field,tag", BIND_CASES)
def test_body_binding_errors(setup, payload, field, tag):
    before = snapshot(setup)
    resp = post(setup, payload)
    assert error_of(resp)[:2] == (400, "Common.BindJsonFailed")
    sub = resp.json()["error"]["subErrors"]
    assert {"field": field, "tag": tag} in [{"field": s["field"], "tag": s["tag"]} for s in sub]
    assert snapshot(setup) == before


RULE_CASES = [
    (body(ip="host.example"), 400, "Common.InvalidIp", "'host.example' is not a valid IP address"),
    (body(port=70000), 400, "Common.InvalidPort", "The port '70000' is invalid"),
    (body(rpcPort="2883"), 400, "Common.IllegalArgument", "You cannot set both rpc_port and rpcPort"),
    (body(zone="bad zone"), 400, "Common.IllegalArgument", "zone 'bad zone'"),
    (body(**{"Bad-Key": "1"}), 400, "Common.IllegalArgument", "config key 'Bad-Key'"),
    (body(memory_limit="8G,x=1"), 400, "Common.IllegalArgument", "must not contain"),
    (body(local_ip="10.0.0.1"), 400, "Common.IllegalArgument", "'local_ip' is set by the agent"),
    ({**body(), "obConfigs": {"rpc_port": "80"}}, 400, "Common.InvalidPort", "The port '80' is invalid"),
    ({**body(), "obConfigs": {"rpc_port": "2881", "mysql_port": "2881"}}, 400,
     "Common.IllegalArgument", "both 2881"),
    (body(memory_limit="lots"), 400, "Common.IllegalArgument", "memory_limit 'lots'"),
    (body(data_dir="relative/dir"), 400, "Common.IllegalArgument", "data_dir 'relative/dir'"),
    (body(zone="zone1\n"), 400, "Common.IllegalArgument", "zone 'zone1\n'"),
    (body(memory_limit="8"), 400, "Common.IllegalArgument", "not a capacity with a unit"),
    (body(homePath="/elsewhere"), 400, "Common.IllegalArgument", "homePath cannot be given"),
    (body(ip="0.0.0.0"), 400, "Common.InvalidIp", "'0.0.0.0' is an unspecified address"),
    (body(memroy_limit="8G"), 400, "Common.IllegalArgument", "did you mean memory_limit?"),
    (body(zone="ZONE1"), 400, "Common.IllegalArgument",
     "zone 'ZONE1' differs from the existing zone 'zone1' only in letter case"),
    (body(ip=COORDINATOR), 400, "Agent.Identify.NotSupportOperation",
     f"'{COORDINATOR}:2886' is 'CLUSTER AGENT', instead of 'SINGLE'"),
    (body(ip="127.0.0.89"), 500, "Agent.RPC.RequestFailed",
     "get 127.0.0.89:2886 status failed: Request [GET]/api/v1/info to 127.0.0.89:2886 failed"),
]


@pytest.mark.parametrize("payload,status,err_code,fragment", RULE_CASES)
def test_request_rules(setup, payload, status, err_code, fragment):
    before = snapshot(setup)
    resp = post(setup, payload)
    assert error_of(resp)[:2] == (status, err_code)
    assert fragment in resp.json()["error"]["message"]
    assert snapshot(setup) == before


@pytest.mark.parametrize("ip,env,err_code", [
    ("127.0.0.83", {"OBEMU_VERSION": "4.2.5.0"}, "Agent.OB.Version.Inconsistent"),
    ("127.0.0.84", {"OBSCALE_AGENT_VERSION": "4.2.6.0"}, "OB.Cluster.ScaleOutHigherVersion"),
    ("127.0.0.85", {"OBSCALE_AGENT_VERSION": "4.2.4.0"}, "OB.Cluster.ScaleOutLowerVersion"),
])
def test_version_mismatches(setup, ip, env, err_code):
    setup.add_target(ip, env)
    resp = post(setup, body(ip=ip))
    assert error_of(resp)[:2] == (400, err_code)


@pytest.fixture(scope="module")
def member_target(setup) -> str:
    """A SINGLE agent on an address whose observer is already a member of the cluster."""
    spare = setup.fleet.start_spare("127.0.0.86", "zone1", cluster=setup.cluster)
    setup.sql("ALTER SYSTEM ADD SERVER %s ZONE 'zone1'", (spare.addr,))
    setup.add_target("127.0.0.86")
    return "127.0.0.86"


def test_server_already_in_cluster(setup, member_target):
    resp = post(setup, body(ip=member_target))
    assert error_of(resp)[:2] == (500, "Agent.AlreadyExists")
    assert resp.json()["error"]["message"] == "Agent 127.0.0.86:2886 already exists in cluster"


def test_sdk_reports_refusals(client):
    with pytest.raises(OBShellHandleError) as refused:
        client.scale_out(COORDINATOR, 2886, "zone1", {})
    assert "Agent.Identify.NotSupportOperation" in str(refused.value)


def test_lock_resubmit_cancel_and_pass(setup, client, faults):
    faults.add(f"{TARGET}:2882", "slow_start:600")
    dag = client.scale_out(TARGET, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
    again = client.scale_out(TARGET, 2886, "zone1", {"rpc_port": "2882", "mysql_port": "2881"})
    assert again.generic_id == dag.generic_id
    setup.add_target("127.0.0.87")
    resp = post(setup, body(ip="127.0.0.87"))
    assert error_of(resp)[:2] == (500, "OB.Cluster.UnderMaintenanceWithDag")
    assert f"under maintenance by DAG {dag.generic_id} (Cluster scale out" in \
        resp.json()["error"]["message"]
    _wait_stage(client, dag.generic_id, 9)
    # PASS waives only the serving wait, so the target must have been seen as CLUSTER AGENT.
    wait_until(lambda: (client.get_dag(dag.generic_id).additional_data or {}).get("targetIdentity")
               == "CLUSTER AGENT", 60, what="the target reported as CLUSTER AGENT")
    assert client.operate_dag_sync(dag.generic_id, "CANCEL") is True
    cancelled = client.get_dag(dag.generic_id)
    assert (cancelled.state, cancelled.operator) == ("FAILED", "CANCEL")
    assert client.operate_dag(dag.generic_id, "PASS") is True
    passed = client.get_dag(dag.generic_id)
    assert (passed.state, passed.operator, passed.additional_data["passed"]) == ("SUCCEED", "PASS", True)
    assert passed.additional_data["readiness"] == "unverified"
    assert client.get_cluster_unfinished_dag() == []


def _wait_stage(client, dag_id: str, stage: int) -> None:
    wait_until(lambda: client.get_dag(dag_id, show_detail=False).stage >= stage, 120,
               what=f"stage {stage}")


def test_pass_refused_before_last_stage(setup, client, faults):
    setup.add_target("127.0.0.88")
    faults.add("127.0.0.88:2882", "crash_on_start")
    dag = client.scale_out("127.0.0.88", 2886, "zone1", {})
    with pytest.raises(TaskExecuteFailedError):
        client.wait_dag_succeed(dag.generic_id)
    resp = v2.send(setup.coordinator.base_url, "POST", f"/api/v1/task/dag/{dag.generic_id}",
                   body={"operator": "PASS"}, auth=ROOT_PASSWORD)
    assert error_of(resp)[:2] == (400, "Task.Dag.Operator.PassNotAllowed")
    assert client.operate_dag_sync(dag.generic_id, "ROLLBACK") is True
    assert setup.server_row("127.0.0.88") is None


def precheck(setup, ip: str, **configs):
    resp = v2.send(setup.coordinator.base_url, "POST", "/api/v1/ob/scale_out/precheck",
                   body=body(ip=ip, **configs), auth=ROOT_PASSWORD)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def test_precheck_passes_for_a_free_target_and_changes_nothing(setup, client, idle_cluster):
    before = snapshot(setup)
    report = precheck(setup, SPARE)
    by_name = {c["name"]: c for c in report["checks"]}
    assert report["passed"] is True, report
    for name in ("coordinator_identity", "target_reachable", "target_identity", "versions",
                 "server_absent", "zone", "mysql_port_free", "rpc_port_free", "clock_skew",
                 "observer_binary", "cluster_lock"):
        assert by_name[name]["status"] in ("pass", "warn"), by_name[name]
    assert set(by_name["mysql_port_free"]) == {"name", "status", "observed", "required", "hint"}
    assert snapshot(setup) == before
    assert client.get_cluster_unfinished_dag() == []


def test_precheck_reports_failures_as_entries(setup, member_target):
    report = precheck(setup, member_target, memory_limit="64P")
    by_name = {c["name"]: c for c in report["checks"]}
    assert report["passed"] is False
    assert by_name["server_absent"]["status"] == "fail"
    assert "Agent.AlreadyExists" in by_name["server_absent"]["observed"]
    assert by_name["rpc_port_free"]["status"] == "fail"
    assert "127.0.0.86:2882" in by_name["rpc_port_free"]["observed"]
    assert by_name["memory_limit"]["status"] == "fail"


def test_precheck_bad_body_is_still_400(setup):
    resp = v2.send(setup.coordinator.base_url, "POST", "/api/v1/ob/scale_out/precheck",
                   body=body(zone="bad zone"), auth=ROOT_PASSWORD)
    assert error_of(resp)[:2] == (400, "Common.IllegalArgument")


GUARDED = "127.0.0.79"  # a SINGLE spare with an agent password; refused, stays SINGLE
GUARDED_JOINS = "127.0.0.90"  # another one, scaled out with the right password


def _guarded_spare(setup, ip: str) -> str:
    from tests.support.agents import prepare_home, start_serve

    home = setup.fleet.observer_home(setup.fleet.base_dir / f"target-{ip}")
    prepare_home(home, agent_password="Spare-pw_9")
    setup.targets[ip] = start_serve(ip, home, env=setup.env)
    return ip


@pytest.fixture(scope="module")
def guarded(setup):
    return _guarded_spare(setup, GUARDED)


@pytest.fixture(scope="module")
def guarded_joins(setup):
    return _guarded_spare(setup, GUARDED_JOINS)


@pytest.mark.parametrize("password", [None, "wrong-pw"])
def test_a_wrong_or_missing_target_password_is_refused_before_anything_is_created(
        setup, client, idle_cluster, guarded, password):
    before = snapshot(setup)
    payload = body(ip=guarded)
    if password is not None:
        payload["targetAgentPassword"] = password
    resp = post(setup, payload)
    status, err_code, _ = error_of(resp)
    assert (status, err_code) == (401, "Security.Authentication.IncorrectAgentPassword"), resp.text
    message = resp.json()["error"]["message"]
    assert f"{guarded}:2886 refused the scale-out's credentials" in message
    assert ("no target agent password" if password is None else "is wrong") in message
    assert "wrong-pw" not in message
    assert snapshot(setup) == before
    assert client.get_cluster_unfinished_dag() == []


def test_the_right_target_password_is_accepted(setup, client, idle_cluster, guarded_joins):
    guarded = guarded_joins
    resp = post(setup, {**body(ip=guarded), "targetAgentPassword": "Spare-pw_9"})
    assert resp.status_code == 200, resp.text
    done = client.wait_dag_succeed(resp.json()["data"]["id"])
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert setup.server_row(guarded)[1] == "ACTIVE"


def test_cancel_then_rollback_of_the_target_ends_both_dags(setup, client, faults):
    """The coordinator waits at its last stage (the server never serves in time), the target
    at its own: CANCEL then ROLLBACK of the target's DAG rolls both back, long before the
    1800 s serving budget."""
    from obshell import ClientV1
    from obshell.auth.password import PasswordAuth

    target_ip = "127.0.0.78"
    setup.add_target(target_ip)
    faults.add(f"{target_ip}:2882", "slow_start:600")
    dag = client.scale_out(target_ip, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
    _wait_stage(client, dag.generic_id, 9)
    target = ClientV1(target_ip, 2886, PasswordAuth(ROOT_PASSWORD))
    local = wait_until(lambda: _at_stage(target.get_agent_last_maintenance_dag(), 7), 120,
                       what="the target waiting at its last stage")
    target.operate_dag(local.generic_id, "CANCEL")
    wait_until(lambda: target.get_dag(local.generic_id, show_detail=False).state == "FAILED",
               120, what="the target cancelled")
    target.operate_dag(local.generic_id, "ROLLBACK")
    ended = wait_until(lambda: _rolled_back(client, dag.generic_id)
                       and _rolled_back(target, local.generic_id), 180,
                       what="both DAGs rolled back")
    assert ended
    assert setup.server_row(target_ip) is None
    info = v2.send(f"http://{target_ip}:2886", "GET", "/api/v1/info").json()["data"]
    assert info["identity"] == "SINGLE"
    logs = [line for node in client.get_dag(dag.generic_id).nodes for task in node.sub_tasks
            for line in task.task_logs or []]
    assert any("its operator gave it up" in line for line in logs), logs


def _at_stage(dag, stage: int):
    return dag if dag.stage == stage and dag.state == "RUNNING" else None


def _rolled_back(client, generic_id: str) -> bool:
    dag = client.get_dag(generic_id, show_detail=False)
    return (dag.state, dag.operator) == ("SUCCEED", "ROLLBACK")
