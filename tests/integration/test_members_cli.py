"""Members and DAG history with real processes: `get_ob_info` through the unmodified SDK, the
`/ob/agents` and `/task/dags/*` lists, and the CLI commands (members, dag list, dag logs, an
operator on an ended DAG, a scale-out into a new zone, the precheck's new-zone warning).

One cluster for the module (127.0.10.1), grown to three servers in two zones; 127.0.10.4 fails
its scale-out (a FAILED DAG holding the lock), is rolled back and stays SINGLE. Addresses
127.0.10.0/24 only.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support import v2
from tests.support.agents import obscale_command
from tests.support.scaleout import ROOT_PASSWORD, Faults, module_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.10.1"
ZONE1_TARGET, NEW_ZONE_TARGET, FAILING_TARGET = "127.0.10.2", "127.0.10.3", "127.0.10.4"
PW_VAR = "MEMBERS_TEST_PW"
UNSET_TIME = "0001-01-01T00:00:00Z"

setup = module_setup("members-cli", COORDINATOR)


def run(*args: str, agent: str = COORDINATOR) -> subprocess.CompletedProcess:
    """`obscale <args> --agent <agent>:2886` with the root password in PW_VAR; the password
    never shows in the output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    env[PW_VAR] = ROOT_PASSWORD
    result = subprocess.run(obscale_command() + list(args) + [
        "--agent", f"{agent}:2886", "--password-env", PW_VAR], env=env, capture_output=True,
        text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert ROOT_PASSWORD not in result.stdout + result.stderr
    return result


def api(ip: str, uri: str):
    return v2.send(f"http://{ip}:2886", "GET", uri, auth=ROOT_PASSWORD)


def contents(ip: str, uri: str) -> list[dict]:
    resp = api(ip, uri)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["contents"]


@pytest.fixture(scope="module")
def grown(setup, client):
    """zone1 gets a second server (SDK); zone2 is refused without --new-zone, then created by
    `scale-out --new-zone --wait`."""
    setup.add_target(ZONE1_TARGET)
    zone1 = client.scale_out_sync(ZONE1_TARGET, 2886, "zone1", {"mysql_port": "2881",
                                                                "rpc_port": "2882"})
    setup.add_target(NEW_ZONE_TARGET)
    where = ["--target", f"{NEW_ZONE_TARGET}:2886", "--zone", "zone2", "-c", "mysql_port=2881",
             "-c", "rpc_port=2882"]
    refused = run("scale-out", *where)
    dags_after_refusal = contents(COORDINATOR, "/api/v1/task/dags/ob?show_details=false")
    created = run("scale-out", *where, "--new-zone", "--wait")
    assert created.returncode == 0, created.stdout + created.stderr
    zone2_id = created.stdout.split("scale-out DAG ", 1)[1].split()[0]
    return {"zone1": zone1, "refused": refused, "dags_after_refusal": dags_after_refusal,
            "zone2_id": zone2_id, "created": created.stdout}


@pytest.fixture(scope="module")
def rolled_back(setup, grown):
    """127.0.10.4's scale-out fails at ADD SERVER and holds the cluster lock (the lists are read
    then); it is rolled back from the CLI, and the agent is SINGLE again."""
    faults = Faults(setup.cluster.state_path)
    setup.add_target(FAILING_TARGET)
    try:
        faults.add(f"{FAILING_TARGET}:2882", "refuse_add_server")
        failed = run("scale-out", "--target", f"{FAILING_TARGET}:2886", "--zone", "zone1",
                     "-c", "mysql_port=2881", "-c", "rpc_port=2882", "--wait")
        dag_id = failed.stdout.split("scale-out DAG ", 1)[1].split()[0]
        while_failed = {"cluster": contents(COORDINATOR, "/api/v1/task/dags/ob?limit=2"),
                        "local": contents(FAILING_TARGET, "/api/v1/task/dags/agent"),
                        "listed": run("dag", "list", "--cluster").stdout}
    finally:
        faults.clear_all()
    rollback = run("dag", "rollback", dag_id, "--wait")
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    return {"failed": failed, "dag_id": dag_id, "while_failed": while_failed}


def test_get_ob_info_through_the_sdk(setup, client, grown):
    info = client.get_ob_info()
    assert {(a.ip, a.port, a.zone, a.identity, a.version) for a in info.agents} == {
        (COORDINATOR, 2886, "zone1", "CLUSTER AGENT", "4.2.5.0"),
        (ZONE1_TARGET, 2886, "zone1", "CLUSTER AGENT", "4.2.5.0"),
        (NEW_ZONE_TARGET, 2886, "zone2", "CLUSTER AGENT", "4.2.5.0")}
    cluster = info.cluster
    assert (cluster.cluster_id, cluster.cluster_name) == (7, "obdemo")
    assert cluster.version == setup.sql("SELECT ob_version()")[0][0]
    servers = {zone: {(s.svr_ip, s.svr_port, s.sql_port, s.agent_port, s.status)
                      for s in listed} for zone, listed in cluster.zone_config.items()}
    assert servers == {
        "zone1": {(COORDINATOR, 2882, 2881, 2886, "ACTIVE"), (ZONE1_TARGET, 2882, 2881, 2886, "ACTIVE")},
        "zone2": {(NEW_ZONE_TARGET, 2882, 2881, 2886, "ACTIVE")}}


def test_ob_info_carries_start_service_times_and_zones(setup, grown):
    resp = api(COORDINATOR, "/api/v1/ob/info")
    assert resp.status_code == 200, resp.text
    cluster = resp.json()["data"]["obcluster_info"]
    assert [(z["zone"], z["status"]) for z in cluster["zones"]] == [("zone1", "ACTIVE"),
                                                                   ("zone2", "ACTIVE")]
    (entry,) = [s for s in cluster["topology"]["zone2"]]
    conn = setup.cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET time_zone = '+00:00'")
            cursor.execute("SELECT START_SERVICE_TIME FROM oceanbase.DBA_OB_SERVERS "
                           "WHERE SVR_IP = %s", (NEW_ZONE_TARGET,))
            (started,) = cursor.fetchone()
    finally:
        conn.close()
    assert entry["start_service_time"] == started.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert entry["stop_time"] == UNSET_TIME


def test_ob_agents_lists_the_registry_from_any_member(grown):
    for ip in (COORDINATOR, NEW_ZONE_TARGET):
        rows = contents(ip, "/api/v1/ob/agents")
        assert {(r["ip"], r["zone"], r["identity"], r["version"], r["rpc_port"]) for r in rows} == {
            (COORDINATOR, "zone1", "CLUSTER AGENT", "4.2.5.0", 2882),
            (ZONE1_TARGET, "zone1", "CLUSTER AGENT", "4.2.5.0", 2882),
            (NEW_ZONE_TARGET, "zone2", "CLUSTER AGENT", "4.2.5.0", 2882)}
        assert all("public_key" not in r for r in rows)


def test_cluster_dags_newest_first_and_bounded(grown, rolled_back):
    listed = contents(NEW_ZONE_TARGET, "/api/v1/task/dags/ob?show_details=false")
    ids = [d["id"] for d in listed]
    assert ids[:3] == [rolled_back["dag_id"], grown["zone2_id"], grown["zone1"].generic_id]
    assert [d["name"] for d in listed[:3]] == ["Cluster scale out"] * 3
    assert listed[0]["additional_data"] == {"rolled_back": True}
    assert not any(d["holds_lock"] for d in listed)
    assert [d["id"] for d in contents(COORDINATOR, "/api/v1/task/dags/ob?limit=1")] == ids[:1]


def test_the_failed_dag_was_marked_as_the_lock_holder(rolled_back):
    cluster = rolled_back["while_failed"]["cluster"]
    assert [(d["id"], d["state"], d["holds_lock"]) for d in cluster][0] == (
        rolled_back["dag_id"], "FAILED", True)
    assert cluster[1]["holds_lock"] is False
    assert cluster[0]["nodes"][6]["state"] == "FAILED"  # details by default: the failed stage
    (local,) = rolled_back["while_failed"]["local"]
    assert (local["name"], local["holds_lock"]) == ("Local scale out", True)
    listed = rolled_back["while_failed"]["listed"]
    assert any(rolled_back["dag_id"] in line and "failed" in line and "holds the lock" in line
               for line in listed.splitlines())


def test_a_single_agent_has_no_cluster(rolled_back):
    client = ClientV1(FAILING_TARGET, 2886, PasswordAuth(ROOT_PASSWORD))
    info = client.get_ob_info()
    assert [(a.ip, a.identity) for a in info.agents] == [(FAILING_TARGET, "SINGLE")]
    assert info.cluster.cluster_id == 0 and info.cluster.zone_config == {}
    assert contents(FAILING_TARGET, "/api/v1/task/dags/ob") == []
    (local,) = contents(FAILING_TARGET, "/api/v1/task/dags/agent")
    assert (local["state"], local["operator"], local["holds_lock"]) == ("SUCCEED", "ROLLBACK", False)
    assert [r["identity"] for r in contents(FAILING_TARGET, "/api/v1/ob/agents")] == ["SINGLE"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=ten"])
def test_an_invalid_limit_is_a_400_envelope(grown, query):
    resp = api(COORDINATOR, f"/api/v1/task/dags/ob?{query}")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["errCode"] == "Common.IllegalArgument"
    assert error["message"].startswith("Illegal argument: limit must be an integer from 1 to 100")


def test_members_cli(setup, grown):
    result = run("members")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    version = setup.sql("SELECT ob_version()")[0][0]
    assert lines[0] == (f"cluster obdemo (id 7), OceanBase {version}: 2 zone(s), 3 server(s), "
                        "3 agent(s)")
    for ip, zone in ((COORDINATOR, "zone1"), (ZONE1_TARGET, "zone1"), (NEW_ZONE_TARGET, "zone2")):
        (row,) = [line for line in lines if f"{ip}:2882" in line]
        assert row.split()[:2] == [zone, "ACTIVE"]
        assert f"{ip}:2886" in row and "CLUSTER AGENT" in row and row.rstrip().endswith("4.2.5.0")
        assert " UTC " in row


def test_dag_list_cli(grown, rolled_back):
    result = run("dag", "list", "--limit", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "cluster DAGs, newest first (the newest 2; --limit shows more):"
    assert lines[2].split()[0] == rolled_back["dag_id"] and "rolled back" in lines[2]
    assert lines[3].split()[0] == grown["zone2_id"] and "succeeded" in lines[3]
    assert f"local DAGs of {COORDINATOR}:2886: none" in result.stdout
    bad = run("dag", "list", "--limit", "0")
    assert bad.returncode == 2 and "--limit" in bad.stderr


def test_dag_logs_cli_prints_every_line_in_full(client, grown):
    dag_id = grown["zone2_id"]
    result = run("dag", "logs", dag_id)
    assert result.returncode == 0, result.stdout + result.stderr
    detail = client.get_dag(dag_id)
    logs = [line for node in detail.nodes for task in node.sub_tasks for line in task.task_logs]
    assert logs and max(len(line) for line in logs) > 70
    printed = result.stdout.splitlines()
    assert all(f"    {line}" in printed for line in logs)
    assert f"stage 11/11  {detail.nodes[-1].name}  SUCCEED/RUN" in printed
    one = run("dag", "logs", dag_id, "--stage", "7")
    assert "Add new zone for scale_out" in one.stdout and detail.nodes[0].name not in one.stdout
    beyond = run("dag", "logs", dag_id, "--stage", "12")
    assert beyond.returncode == 2 and f"DAG {dag_id} has stages 1-11" in beyond.stderr


def test_an_operator_on_an_ended_dag_says_so(client, grown, rolled_back):
    dag_id = grown["zone2_id"]
    before = client.get_dag(dag_id, show_detail=False)
    retry = run("dag", "retry", dag_id)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert retry.stdout.strip() == f"DAG {dag_id} already succeeded; nothing to retry"
    again = run("dag", "rollback", rolled_back["dag_id"])
    assert again.returncode == 0
    assert again.stdout.strip() == f"DAG {rolled_back['dag_id']} already rolled back; nothing to roll back"
    cancel = run("dag", "cancel", dag_id)
    assert cancel.returncode == 2 and "already succeeded; nothing to cancel" in cancel.stderr
    after = client.get_dag(dag_id, show_detail=False)
    assert (after.state, after.operator, after.end_time) == (before.state, before.operator,
                                                             before.end_time)


def test_a_new_zone_needs_new_zone_off_a_terminal(grown):
    refused = grown["refused"]
    assert refused.returncode == 2
    assert ("zone zone2 does not exist (existing: zone1); pass --new-zone to create it"
            in refused.stderr)
    assert [d["id"] for d in grown["dags_after_refusal"]] == [grown["zone1"].generic_id]
    assert "zone zone2 does not exist yet: the scale-out creates it (existing: zone1)" in \
        grown["created"]


def test_precheck_warns_about_a_new_zone(rolled_back):
    result = run("precheck", "--target", f"{FAILING_TARGET}:2886", "--zone", "zone9",
                 "-c", "mysql_port=2881", "-c", "rpc_port=2882")
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("zone ")]
    assert row.split()[1] == "warn"
    assert "will create zone zone9 (existing: zone1, zone2)" in row
    assert "precheck passed" in result.stdout
