"""GET /api/v1/ob/info and /ob/agents on an agent outside a cluster, and the pure builders of the
cluster's shape (what a member answers is tested with real processes: test_members_cli.py)."""
from datetime import datetime, timezone

import pytest
from obshell.model.info import ObInfo

from app.dag.dto import UNSET_TIME
from app.scaleout import topology
from app.security import keystore
from app.security.crypto import build_v2_request

STARTED = datetime(2026, 12, 6, 16, 40, 1, 250000, tzinfo=timezone.utc)
SERVER = {"SVR_IP": "10.0.0.1", "SVR_PORT": 2882, "ZONE": "zone1", "SQL_PORT": 2881,
          "STATUS": "ACTIVE", "START_SERVICE_TIME": STARTED, "STOP_TIME": None,
          "WITH_ROOTSERVER": "YES", "BUILD_VERSION": "4.2.5.0_100000012024112917-abc(Nov 29 2024)"}
AGENT = {"ip": "10.0.0.1", "port": 2886, "zone": "zone1", "identity": "CLUSTER AGENT",
         "version": "4.2.5.0", "mysql_port": 2881, "rpc_port": 2882}


@pytest.fixture
def signed(app, tmp_path):
    """GET through the verification hook, as the SDK sends it to a SINGLE agent."""
    keystore.open_keystore(app.config["KEY_FILE"], 2048)
    public_key = keystore.open_keystore(app.config["KEY_FILE"]).public_key
    client = app.test_client()

    def get(path):
        out = build_v2_request(public_key, "", path, None)
        return client.get(path, headers={"X-OCS-Header": out.header})

    return get


def test_a_single_agent_answers_with_itself(app, signed):
    resp = signed("/api/v1/ob/info")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()["data"]
    assert body["agent_info"] == [{"ip": app.config["IP"], "port": int(app.config["PORT"]),
                                   "zone": "", "identity": "SINGLE",
                                   "version": app.config["AGENT_VERSION"]}]
    assert body["obcluster_info"]["id"] == 0 and body["obcluster_info"]["zones"] == []
    parsed = ObInfo.from_dict(body)  # the SDK's own model
    assert [a.identity for a in parsed.agents] == ["SINGLE"] and parsed.cluster.zone_config == {}
    agents = signed("/api/v1/ob/agents").get_json()["data"]["contents"]
    assert [(a["ip"], a["identity"]) for a in agents] == [(app.config["IP"], "SINGLE")]


@pytest.mark.parametrize("path", ["/api/v1/ob/info", "/api/v1/ob/agents"])
def test_the_routes_need_verification(client, path):
    resp = client.get(path)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["errCode"] == "Request.Header.NotFound"


def test_server_entry_carries_the_agent_port_and_the_times():
    entry = topology.server_entry(SERVER, {("10.0.0.1", 2882): 2886})
    assert entry == {"svr_ip": "10.0.0.1", "svr_port": 2882, "sql_port": 2881, "agent_port": 2886,
                     "with_rootserver": "YES", "status": "ACTIVE",
                     "build_version": "4.2.5.0_100000012024112917",
                     "start_service_time": "2026-12-06T16:40:01.250000+00:00",
                     "stop_time": UNSET_TIME}


def test_a_stopped_server_shows_stopped_and_one_without_agent_port_0():
    stopped = {**SERVER, "STOP_TIME": STARTED, "START_SERVICE_TIME": None}
    entry = topology.server_entry(stopped, {})
    assert (entry["status"], entry["agent_port"], entry["start_service_time"]) == (
        "STOPPED", 0, UNSET_TIME)


def test_cluster_info_groups_servers_by_zone_and_lists_empty_zones():
    second = {**SERVER, "SVR_IP": "10.0.0.2", "ZONE": "zone2"}
    zones = [{"ZONE": "zone1", "STATUS": "ACTIVE", "REGION": "sys_region", "IDC": ""},
             {"ZONE": "zone2", "STATUS": "ACTIVE", "REGION": "sys_region", "IDC": None},
             {"ZONE": "zone3", "STATUS": "INACTIVE", "REGION": "sys_region", "IDC": ""}]
    info = topology.cluster_info(7, "obdemo", "4.2.5.0", [SERVER, second], zones, [AGENT])
    assert sorted(info["topology"]) == ["zone1", "zone2"]
    assert [z["zone"] for z in info["zones"]] == ["zone1", "zone2", "zone3"]
    assert info["zones"][1]["idc"] == "" and info["zones"][2]["status"] == "INACTIVE"
    parsed = ObInfo.from_dict({"agent_info": [AGENT], "obcluster_info": info})
    assert (parsed.cluster.cluster_id, parsed.cluster.cluster_name) == (7, "obdemo")
    assert parsed.cluster.zone_config["zone2"][0].agent_port == 0
    assert parsed.agents[0].identity == "CLUSTER AGENT"
