"""The obscale command: discovery, migrate, agent set-password, serve start-up checks."""
import os
import socket

import pytest
from click.testing import CliRunner

from app.node import identity as agent
from app.cli import cli, load_commands
from app.config import load_config
from app.db import init_db
from app.process.supervisor import ServeError, bind_listener, check_home, write_pid_file


@pytest.fixture
def runner():
    load_commands()
    return CliRunner()


def test_commands_are_discovered(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("serve", "migrate", "agent"):
        assert name in result.output
    assert "worker" not in result.output  # hidden


def test_migrate_creates_the_database(runner, tmp_path):
    result = runner.invoke(cli, ["migrate", "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "obscale" / "obscale.db").exists()
    assert runner.invoke(cli, ["migrate", "--home", str(tmp_path)]).exit_code == 0


def test_migrate_refuses_a_missing_home(runner, tmp_path):
    result = runner.invoke(cli, ["migrate", "--home", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "not a directory" in result.output


def _agent_password_matches(home, password):
    init_db(load_config({"HOME": str(home)}, environ={})["DATABASE"])
    return agent.verify_agent_password(password)


def test_set_password_from_environment(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_PW", "from-env-pw")
    result = runner.invoke(cli, ["agent", "set-password", "--home", str(tmp_path),
                                 "--password-env", "AGENT_PW"])
    assert result.exit_code == 0, result.output
    assert "from-env-pw" not in result.output
    assert _agent_password_matches(tmp_path, "from-env-pw")


def test_set_password_from_prompt(runner, tmp_path):
    result = runner.invoke(cli, ["agent", "set-password", "--home", str(tmp_path)],
                           input="prompted-pw\nprompted-pw\n")
    assert result.exit_code == 0, result.output
    assert "prompted-pw" not in result.output
    assert _agent_password_matches(tmp_path, "prompted-pw")


@pytest.mark.parametrize("env,message", [({}, "is not set"), ({"AGENT_PW": ""}, "must not be empty")])
def test_set_password_errors(runner, tmp_path, monkeypatch, env, message):
    monkeypatch.delenv("AGENT_PW", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(cli, ["agent", "set-password", "--home", str(tmp_path),
                                 "--password-env", "AGENT_PW"])
    assert result.exit_code != 0 and message in result.output


def test_password_is_not_a_flag(runner, tmp_path):
    result = runner.invoke(cli, ["agent", "set-password", "--home", str(tmp_path),
                                 "--password", "x"])
    assert result.exit_code == 2


def _config(home):
    return load_config({"HOME": str(home)}, environ={})


def test_check_home_rejects_missing_and_read_only(tmp_path):
    with pytest.raises(ServeError, match="not a directory"):
        check_home(_config(tmp_path / "missing"))
    (tmp_path / "file").write_text("")
    with pytest.raises(ServeError, match="not a directory"):
        check_home(_config(tmp_path / "file"))
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "obscale").write_text("a file where the state folder should be")
    with pytest.raises(ServeError, match="not usable"):
        check_home(_config(blocked))


def test_check_home_creates_the_state_folders(tmp_path):
    check_home(_config(tmp_path))
    assert (tmp_path / "obscale" / "log").is_dir()


def test_bind_listener_reports_a_taken_port():
    taken = socket.socket()
    taken.bind(("127.0.0.18", 0))
    taken.listen()
    try:
        with pytest.raises(ServeError, match="already in use"):
            bind_listener("127.0.0.18", taken.getsockname()[1])
    finally:
        taken.close()


def test_pid_file_is_written_and_a_stale_one_replaced(tmp_path):
    path = tmp_path / "obscale.pid"
    path.write_text("999999999\n")
    write_pid_file(str(path))
    assert path.read_text().strip() == str(os.getpid())
