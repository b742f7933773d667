"""Scale-out end to end through the unmodified obshell SDK: real agents, real obemu observers."""
from __future__ import annotations

import pytest
import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, module_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.0.41"


setup = module_setup("scale-out-sdk", COORDINATOR)


def identity_of(ip: str) -> str:
    return requests.get(f"http://{ip}:2886/api/v1/info", timeout=10).json()["data"]["identity"]


def registry_of(setup, agent) -> set[tuple[str, int]]:
    from tests.support import v2

    resp = v2.send(agent.base_url, "GET", "/rpc/v1/agent/registry", auth=ROOT_PASSWORD)
    assert resp.status_code == 200, resp.text
    return {(r["ip"], r["port"]) for r in resp.json()["data"]["contents"]}


@pytest.fixture(scope="module")
def existing_zone(setup, client):
    """127.0.0.42 scaled into zone1: the first DAG of the coordinator (generic id 11)."""
    target = setup.add_target("127.0.0.42")
    created = client.scale_out("127.0.0.42", 2886, "zone1", {"mysql_port": 2881, "rpc_port": "2882"})
    done = client.wait_dag_succeed(created.generic_id)
    return {"target": target, "created": created, "done": done,
            "registry": registry_of(setup, target)}


@pytest.fixture(scope="module")
def new_zone(setup, client, existing_zone):
    """127.0.0.43 scaled into a new zone2, after 127.0.0.42 joined zone1."""
    target = setup.add_target("127.0.0.43")
    dag = client.scale_out_sync("127.0.0.43", 2886, "zone2", {"mysql_port": "2881", "rpc_port": "2882",
                                                               "memory_limit": "1G"})
    return {"target": target, "dag": dag}


def test_scale_out_into_existing_zone(setup, client, existing_zone):
    dag, done = existing_zone["created"], existing_zone["done"]
    assert (dag.generic_id, dag.dag_id, dag.name) == ("11", 1, "Cluster scale out")
    assert (dag.stage, dag.max_stage, dag.state, dag.operator) == (1, 9, "READY", "RUN")
    assert (done.state, done.operator, done.stage) == ("SUCCEED", "RUN", 9)
    assert done.additional_data["readiness"] == "verified"
    zone, status, start_service_time, stop_time = setup.server_row("127.0.0.42")
    assert (zone, status, stop_time) == ("zone1", "ACTIVE", None)
    assert start_service_time is not None
    assert identity_of("127.0.0.42") == "CLUSTER AGENT"
    assert len(setup.statements("ADD SERVER '127.0.0.42:2882'")) == 1
    # as the new member saw it right after its own scale-out
    assert existing_zone["registry"] == {(COORDINATOR, 2886), ("127.0.0.42", 2886)}
    names = [node.name for node in client.get_dag(dag.generic_id).nodes]
    assert names[0] == "Integrate server config" and names[-1] == "Check cluster scale_out whether finished"


def test_scale_out_into_new_zone(setup, client, new_zone):
    dag = new_zone["dag"]
    assert (dag.state, dag.operator, dag.max_stage) == ("SUCCEED", "RUN", 11)
    assert setup.zone_status("zone2") == "ACTIVE"
    for ip, zone in ((COORDINATOR, "zone1"), ("127.0.0.42", "zone1"), ("127.0.0.43", "zone2")):
        row = setup.server_row(ip)
        assert row[:2] == (zone, "ACTIVE") and row[2] is not None
    assert identity_of("127.0.0.43") == "CLUSTER AGENT"
    nodes = client.get_dag(dag.generic_id).nodes
    assert [n.name for n in nodes][6:8] == ["Add new zone for scale_out", "Start new zone for scale_out"]
    assert all(n.state == "SUCCEED" for n in nodes)


def test_registry_pushed_to_earlier_members(setup, existing_zone, new_zone):
    # The push runs once the coordinator's DAG has finished: poll for it.
    wait_until(lambda: ("127.0.0.43", 2886) in registry_of(setup, existing_zone["target"]), 30,
               what="127.0.0.43 in the registry of 127.0.0.42")


def test_lock_released_and_maintenance_dag_readable(setup, client, new_zone):
    last = client.get_ob_last_maintenance_dag()
    assert len(last) == 1 and last[0].state == "SUCCEED"
    assert last[0].generic_id == new_zone["dag"].generic_id
    assert client.get_cluster_unfinished_dag() == []
    target = ClientV1("127.0.0.43", 2886, PasswordAuth(ROOT_PASSWORD))
    local = target.get_agent_last_maintenance_dag()
    assert (local.name, local.max_stage) == ("Local scale out", 7)
    # The target finishes once it has seen the coordinator's SUCCEED (one poll later at most).
    local = target.wait_dag_succeed(local.generic_id)
    assert local.state == "SUCCEED"
    assert local.additional_data["scaleOutUUID"]
    assert {c["name"] for c in local.additional_data["precheck"]} >= {"mysql_port_free", "observer_binary"}
