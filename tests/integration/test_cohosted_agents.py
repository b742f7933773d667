"""Two `obscale serve` on one machine, as the sandbox runs them, share nothing of the user's.

gunicorn 25.1+ opens a control socket at $XDG_RUNTIME_DIR/gunicorn.ctl (else
$HOME/.gunicorn/gunicorn.ctl) unless told otherwise: one path for every agent of a user.
"""
import contextlib

import pytest
import requests

from tests.support.agents import serve_agent

pytestmark = pytest.mark.integration
IPS = ("127.0.0.31", "127.0.0.32")


@pytest.fixture
def two_agents(tmp_path):
    """Two agents of one user (one HOME, one XDG_RUNTIME_DIR), each with its own home."""
    user_home, runtime = tmp_path / "user", tmp_path / "runtime"
    user_home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {"HOME": str(user_home), "XDG_RUNTIME_DIR": str(runtime)}
    with contextlib.ExitStack() as stack:
        agents = [stack.enter_context(serve_agent(ip, tmp_path / ip, env=env, workers=1))
                  for ip in IPS]
        yield agents, user_home, runtime


def test_no_control_socket_in_the_users_folders(two_agents):
    agents, user_home, runtime = two_agents
    for agent in agents:
        assert requests.get(agent.base_url + "/api/v1/info", timeout=5).status_code == 200
    assert list(runtime.iterdir()) == []
    assert not (user_home / ".gunicorn").exists()
    for agent in agents:
        log = (agent.state_dir / "log" / "agent.log").read_text(errors="replace")
        assert "Control socket" not in log, log
