"""Client commands: HOST:PORT and -c key=value parsing, usage errors, exit codes of the watch loop."""
from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from app.peer.client import AgentClient
from app.cli import cli, load_commands
from app.cli import watch as _watch
from app.cli.client import Session, parse_configs, parse_host_port


@pytest.fixture
def runner():
    load_commands()
    return CliRunner()


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.1:2886", ("10.0.0.1", 2886)),
    ("127.0.0.60", ("127.0.0.60", 2886)),
    ("[::1]:2887", ("::1", 2887)),
    ("[::1]", ("::1", 2886)),
    ("::1", ("::1", 2886)),
    ("agent-host:1", ("agent-host", 1)),
    (" 10.0.0.1:65535 ", ("10.0.0.1", 65535)),
])
def test_parse_host_port(text, expected):
    assert parse_host_port(text) == expected


@pytest.mark.parametrize("text", ["", ":2886", "h:0", "h:65536", "h:abc", "h:-1", "a:b:c",
                                  "[::1]:x", "[]:2886"])
def test_parse_host_port_rejects(text):
    with pytest.raises(ValueError):
        parse_host_port(text)


def test_parse_configs():
    assert parse_configs(("mysql_port=2881", " memory_limit = 8G ", "x=a=b", "empty=")) == {
        "mysql_port": "2881", "memory_limit": "8G", "x": "a=b", "empty": ""}
    assert parse_configs(("k=1", "k=2")) == {"k": "2"}
    assert parse_configs(()) == {}


@pytest.mark.parametrize("item", ["novalue", "=x", " =x"])
def test_parse_configs_rejects(item):
    with pytest.raises(click.BadParameter):
        parse_configs((item,))


@pytest.mark.parametrize("argv, message", [
    (["scale-out", "--agent", "h:99999", "--target", "127.0.0.2", "--zone", "z"], "65535"),
    (["scale-out", "--agent", "h:1", "--target", "127.0.0.2"], "--zone"),
    (["scale-out", "--agent", "h:1", "--target", "127.0.0.2", "--zone", "z", "-c", "bad"],
     "is not key=value"),
    (["precheck", "--agent", "h:1", "--target", "a:b:c", "--zone", "z"], "HOST:PORT"),
    (["dag", "show", "1x", "--agent", "h:1"], "not a DAG id"),
    (["dag", "retry", "11"], "--agent"),
    (["scale-out", "--agent", "h:1", "--target", "127.0.0.2", "--zone", "z",
      "--password", "pw"], "No such option"),
])
def test_usage_errors_exit_2(runner, argv, message):
    result = runner.invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_unset_password_variable_exits_2(runner, monkeypatch):
    monkeypatch.delenv("NO_SUCH_PW_VAR", raising=False)
    result = runner.invoke(cli, ["dag", "show", "11", "--agent", "127.0.0.1:1",
                                 "--password-env", "NO_SUCH_PW_VAR"])
    assert result.exit_code == 2 and "NO_SUCH_PW_VAR is not set" in result.output


def test_unreachable_agent_exits_2_without_the_password(runner, monkeypatch):
    monkeypatch.setenv("CLI_TEST_PW", "hidden-Pw-1")
    result = runner.invoke(cli, ["dag", "show", "11", "--agent", "127.0.0.1:1",
                                 "--password-env", "CLI_TEST_PW"])
    assert result.exit_code == 2 and "connection failed" in result.output
    assert "hidden-Pw-1" not in result.output


def test_the_new_commands_are_listed(runner):
    output = runner.invoke(cli, ["--help"]).output
    for name in ("scale-out", "precheck", "dag", "sandbox", "demo"):
        assert name in output


class ScriptedSession(Session):
    """A session whose GETs return the given DAGs in turn."""

    def __init__(self, dags):
        super().__init__(AgentClient("127.0.0.1", 1), "", "PW_VAR")
        self.dags = list(dags)

    def call(self, method, path, body=None, query=None, retry_s=0.0):
        assert (method, path, query) == ("GET", "/api/v1/task/dag/11", {"show_details": "true"})
        return self.dags.pop(0) if len(self.dags) > 1 else self.dags[0]


def state(state, operator="RUN", stage=1, data=None):
    nodes = [{"name": "A", "state": "SUCCEED" if stage > 1 else state, "operator": operator,
              "sub_tasks": []},
             {"name": "B", "state": state if stage == 2 else "PENDING", "operator": operator,
              "sub_tasks": [{"task_logs": ["boom"], "execute_agent": {"ip": "", "port": 0}}]}]
    return {"id": "11", "name": "Cluster scale out", "state": state, "operator": operator,
            "stage": stage, "max_stage": 2, "start_time": "0001-01-01T00:00:00Z",
            "end_time": "0001-01-01T00:00:00Z", "additional_data": data, "nodes": nodes}


@pytest.mark.parametrize("final, expected, code", [
    (state("SUCCEED", stage=2), _watch.SCALE_OUT_DONE, 0),
    (state("FAILED", stage=2), _watch.SCALE_OUT_DONE, 1),
    (state("SUCCEED", "ROLLBACK", data={"rolled_back": True}), _watch.SCALE_OUT_DONE, 1),
    (state("SUCCEED", "ROLLBACK", data={"rolled_back": True}), ("rolled back",), 0),
    (state("SUCCEED", "PASS", stage=2, data={"passed": True}), _watch.SCALE_OUT_DONE, 0),
    (state("FAILED", "CANCEL", stage=2), ("cancelled",), 0),
])
def test_watch_exit_codes(capsys, final, expected, code):
    session = ScriptedSession([state("READY"), state("RUNNING"), state("RUNNING"), final])
    assert _watch.watch(session, "11", expected, poll_s=0) == code
    out = capsys.readouterr().out
    assert out.count("running stage 1: A") == 1  # not a TTY: one line per change only


def test_watch_prints_the_failed_stage_and_commands(capsys):
    _watch.watch(ScriptedSession([state("FAILED", stage=2)]), "11", poll_s=0)
    out = capsys.readouterr().out
    assert "failed at stage 2/2: B" in out and "boom" in out
    assert "obscale dag retry 11 --agent 127.0.0.1:1 --password-env PW_VAR --wait" in out


def test_only_the_sandbox_imports_obemu():
    import subprocess
    import sys
    from pathlib import Path

    app_dir = Path(__file__).resolve().parents[2] / "app"
    offenders = [str(path.relative_to(app_dir)) for path in app_dir.rglob("*.py")
                 if "sandbox" not in path.relative_to(app_dir).parts
                 and path.name != "sandbox.py" and path.name != "demo.py"
                 and ("import obemu" in path.read_text() or "from obemu" in path.read_text())]
    assert offenders == []
    probe = ("import sys; from app.cli import load_commands; load_commands(); "
             "print(sorted(m for m in sys.modules if m.startswith('obemu')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
