"""A forged scale-out RPC to a SINGLE agent without an agent password (wire spec §5.4 lets it
through authentication) is confirmed with the coordinator it names, and refused: the agent stays
SINGLE, records no root password and runs no DAG."""
from __future__ import annotations

import base64

import pytest

from tests.integration.helpers import db_snapshot, error_of
from tests.support import v2
from tests.support.agents import prepare_home, serve_agent

pytestmark = pytest.mark.integration
IP = "127.0.5.20"
NOWHERE = "127.0.5.21"  # no agent listens here


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    home = prepare_home(tmp_path_factory.mktemp("forged") / "home")
    with serve_agent(IP, home) as handle:
        yield handle


def forged_body(agent) -> dict:
    key = v2.fetch_key(agent.base_url)
    root_pwd = v2.rsa_chunks(key, b"attacker-root-pw")
    return {
        "agentInfo": {"ip": NOWHERE, "port": 2886}, "obConfigs": {"mysql_port": "2881",
                                                                 "rpc_port": "2882"},
        "zone": "zone1", "targetVersion": "", "allAgents": [{"ip": NOWHERE, "port": 2886}],
        "dirs": {"homePath": str(agent.home.resolve()), "data_dir": f"{agent.home}/store",
                 "redo_dir": f"{agent.home}/store", "clog_dir": f"{agent.home}/store/clog",
                 "slog_dir": f"{agent.home}/store/slog"},
        "coordinateDagId": "11", "rootPwd": root_pwd, "uuid": "forged-uuid-1",
        "paramExpectDeployNextStage": 4, "paramExpectStartNextStage": 5,
        "paramExpectRollbackNextStage": 6, "timeouts": {"deploy_s": 1000000},
    }


def test_a_forged_rpc_naming_no_coordinator_changes_nothing(agent):
    before = db_snapshot(agent)
    resp = v2.send(agent.base_url, "POST", "/rpc/v1/ob/scale_out", body=forged_body(agent),
                   auth="")
    status, err_code, _ = error_of(resp)
    assert (status, err_code) == (400, "Common.IllegalArgument"), resp.text
    message = resp.json()["error"]["message"]
    assert f"cannot be confirmed with coordinator {NOWHERE}:2886" in message
    assert "attacker-root-pw" not in message
    after = db_snapshot(agent)
    assert after == before  # identity, root password, DAGs, locks: all as they were
    info = v2.send(agent.base_url, "GET", "/api/v1/info").json()["data"]
    assert info["identity"] == "SINGLE"
    assert v2.send(agent.base_url, "GET", "/api/v1/task/dag/maintain/agent",
                   auth="").status_code == 404


def test_base64_of_the_forged_password_is_not_logged(agent):
    v2.send(agent.base_url, "POST", "/rpc/v1/ob/scale_out", body=forged_body(agent), auth="")
    text = agent.log_text()
    assert "attacker-root-pw" not in text
    assert base64.b64encode(b"attacker-root-pw").decode() not in text
