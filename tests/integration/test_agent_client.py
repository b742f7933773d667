"""app.peer.client against a real `obscale serve`: open routes, v2 calls, typed errors."""
import re

import pytest

from app.peer import client as agent_client
from app.peer.client import AgentClient
from app.peer.errors import PeerRefused, PeerUnreachable
from app.models import IDENTITY_CLUSTER_AGENT
from tests.support.agents import prepare_home, serve_agent, start_serve, stop_serve

pytestmark = pytest.mark.integration
IP, PORT = "127.0.0.15", 2886


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    home = prepare_home(tmp_path_factory.mktemp("client") / "home",
                        identity=IDENTITY_CLUSTER_AGENT, zone="z1", root_password="rootpw")
    with serve_agent(IP, home) as handle:
        yield handle


@pytest.fixture(autouse=True)
def no_cached_keys():
    agent_client.forget_peer_keys()


def test_open_routes(agent):
    client = AgentClient(IP, PORT, timeout=5)
    assert client.info()["identity"] == "CLUSTER AGENT"
    assert client.secret()["public_key"]
    assert client.status()["agent"]["ip"] == IP
    assert re.match(r"\d{4}-\d\d-\d\dT", client.time())


def test_authenticated_get_and_post(agent):
    client = AgentClient(IP, PORT, timeout=5)
    assert client.request("GET", "/api/v1/admin/ping", auth="rootpw") == {"pong": True,
                                                                           "auth": "oceanbase"}
    assert client.request("POST", "/api/v1/admin/ping", body={"x": [1, 2]}, auth="rootpw")["pong"]
    health = client.request("GET", "/api/v1/admin/health", auth="rootpw",
                            query={"show_details": True})
    assert health["components"]["identity"]["zone"] == "z1"


def test_peer_error_is_typed(agent):
    client = AgentClient(IP, PORT, timeout=5)
    with pytest.raises(PeerRefused) as excinfo:
        client.request("GET", "/api/v1/admin/ping", auth="wrong")
    exc = excinfo.value
    assert (exc.status, exc.err_code, exc.code) == (
        401, "Security.Authentication.IncorrectOceanbasePassword", 10008)
    assert str(exc) == (f"Request [GET]/api/v1/admin/ping to {IP}:{PORT} error: "
                        "Security.Authentication.IncorrectOceanbasePassword: "
                        "Unauthorized: OceanBase password is incorrect")
    api = exc.to_api_error()
    assert (api.err_code, api.status) == ("Agent.RPC.RequestError", 500)
    with pytest.raises(PeerRefused) as excinfo:
        client.request("GET", "/api/v1/nope", auth="rootpw")
    assert (excinfo.value.status, excinfo.value.err_code) == (404, "Common.NotFound")


def test_transport_failure_is_typed():
    client = AgentClient("127.0.0.15", 2999, timeout=2)
    with pytest.raises(PeerUnreachable) as excinfo:
        client.info()
    assert str(excinfo.value) == ("Request [GET]/api/v1/info to 127.0.0.15:2999 failed: "
                                  "connection failed")
    assert excinfo.value.to_api_error().err_code == "Agent.RPC.RequestFailed"


def test_stale_key_is_refetched_once_on_code_1(tmp_path, wire):
    home = tmp_path / "home"
    handle = start_serve(IP, home, port=PORT + 1)
    client = AgentClient(IP, PORT + 1, timeout=5)
    try:
        assert client.request("GET", "/api/v1/admin/ping")["pong"]
    finally:
        assert stop_serve(handle) == 0
    (home / "obscale" / "agent_key.pem").unlink()
    handle = start_serve(IP, home, port=PORT + 1)
    try:
        wire.clear()
        assert client.request("POST", "/api/v1/admin/ping", body={})["pong"]
        assert wire == [("POST", "/api/v1/admin/ping", 401), ("GET", "/api/v1/secret", 200),
                        ("POST", "/api/v1/admin/ping", 200)]
    finally:
        assert stop_serve(handle) == 0
