"""An agent whose state database breaks under it: the open routes keep answering and say why;
a protected route answers 503 Agent.State.Unavailable instead of a bare 500."""
from __future__ import annotations

import pytest
import requests

from tests.integration.helpers import error_of
from tests.support import v2
from tests.support.agents import prepare_home, serve_agent

pytestmark = pytest.mark.integration
IP = "127.0.5.40"


@pytest.fixture
def broken(tmp_path):
    home = prepare_home(tmp_path / "home")
    with serve_agent(IP, home) as handle:
        assert requests.get(f"{handle.base_url}/api/v1/info", timeout=10).status_code == 200
        state = handle.state_dir
        for suffix in ("-wal", "-shm"):
            (state / f"obscale.db{suffix}").unlink(missing_ok=True)
        (state / "obscale.db").write_bytes(b"this is not a database\n" * 64)
        yield handle


def test_open_routes_answer_and_name_the_cause(broken):
    assert requests.get(f"{broken.base_url}/healthz", timeout=10).json() == {"status": "ok"}
    for path in ("/api/v1/info", "/api/v1/status"):
        resp = requests.get(broken.base_url + path, timeout=10)
        assert resp.status_code == 200, (path, resp.text)
        data = resp.json()["data"]
        assert "agent state unreadable" in data["stateError"], data
    info = requests.get(f"{broken.base_url}/api/v1/info", timeout=10).json()["data"]
    assert info["identity"] == "UNIDENTIFIED"


def test_a_protected_route_says_the_state_is_unavailable(broken):
    resp = v2.send(broken.base_url, "GET", "/api/v1/admin/health", auth="")
    assert error_of(resp)[:2] == (503, "Agent.State.Unavailable"), resp.text
    assert "state database" in resp.json()["error"]["message"]
