"""Slow clients do not stop the agent: 100 connections trickling partial requests (real processes).

gunicorn's sync workers wait on such connections; the agent's gevent worker serves everyone else
meanwhile and closes a connection that has not sent a whole request in time
(app/process/web_worker.py, REQUEST_READ_TIMEOUT_S, 5 s by default). The 1 s latency goal is
measured by bench/api_latency.py; the timeouts here are generous.
"""
import socket

import pytest
import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from app.models import IDENTITY_CLUSTER_AGENT
from tests.support.agents import prepare_home, serve_agent
from tests.support.polling import wait_until
from tests.support.slow_clients import SlowClients

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
IP, PORT = "127.0.7.1", 2886
SLOW_CONNECTIONS = 100
# Far above the agent's bound (5 s to begin a request, 5 s more to finish it once begun).
CLOSED_WITHIN_S = 60
ANSWER_WITHIN_S = 30
HEALTH = "/api/v1/admin/health"


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """An agent with a root password (CLUSTER AGENT), so the SDK call is verified for real."""
    home = prepare_home(tmp_path_factory.mktemp("slow") / "home",
                        identity=IDENTITY_CLUSTER_AGENT, zone="zone1", root_password="rootpw")
    with serve_agent(IP, home, port=PORT) as running:
        yield running


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the agent sends until it closes the connection (end of stream or reset)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_info_and_an_authenticated_sdk_call_answer_with_100_slow_connections_open(agent):
    # reopen: whenever the agent closes one, another takes its place, so 100 stay open throughout.
    with SlowClients((IP, PORT), SLOW_CONNECTIONS, reopen=True):
        info = requests.get(agent.base_url + "/api/v1/info", timeout=ANSWER_WITHIN_S)
        assert info.status_code == 200 and info.json()["data"]["ip"] == IP
        client = ClientV1(IP, PORT, auth=PasswordAuth("rootpw"), timeout=ANSWER_WITHIN_S)
        health = client._handle_ret_request(client.create_request(HEALTH, "GET"), str)
        assert health["components"]["identity"]["identity"] == "CLUSTER AGENT"


def test_slow_connections_are_closed_by_the_agent(agent):
    with SlowClients((IP, PORT), SLOW_CONNECTIONS) as slow:
        wait_until(lambda: slow.closed == SLOW_CONNECTIONS, CLOSED_WITHIN_S,
                   what=f"the agent closing all {SLOW_CONNECTIONS} slow connections")
    # Each had begun a request: the agent said why it stopped waiting (the client may see a
    # reset instead, as it kept sending).
    assert all(r == b"" or r.startswith(b"HTTP/1.1 408 Request Timeout") for r in slow.responses)
    assert requests.get(agent.base_url + "/api/v1/info", timeout=ANSWER_WITHIN_S).ok


def test_a_body_sent_slowly_is_cut_off_with_408(agent):
    # gunicorn itself bounds the head of a request at most; the body needs the agent's deadline.
    head = (b"POST /api/v1/admin/ping HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000\r\n\r\n")
    with SlowClients((IP, PORT), 1, partial=head) as slow:
        wait_until(lambda: slow.closed == 1, CLOSED_WITHIN_S, what="the slow body cut off")
    response = slow.responses[0]
    assert response == b"" or response.startswith(b"HTTP/1.1 408"), response[:200]


def test_an_idle_kept_alive_connection_is_closed(agent):
    with socket.create_connection((IP, PORT), timeout=ANSWER_WITHIN_S) as sock:
        sock.sendall(b"GET /api/v1/info HTTP/1.1\r\nHost: idle\r\n\r\n")
        received = _read_until_closed(sock, CLOSED_WITHIN_S)
    assert received.startswith(b"HTTP/1.1 200 OK")  # answered, then closed when idle too long


def test_a_connection_that_never_sends_is_closed_silently(agent):
    with socket.create_connection((IP, PORT), timeout=ANSWER_WITHIN_S) as sock:
        assert _read_until_closed(sock, CLOSED_WITHIN_S) == b""
