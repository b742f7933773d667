"""`obscale serve` as a real process: start, identity, children, signals, failures."""
import os
import signal
import socket
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.agents import (alive, descendants, obscale_command, serve_agent, start_serve,
                                  stop_serve)
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration
IP = "127.0.0.11"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _consumer_pid(agent) -> int | None:
    found = [p for p in agent.descendants() if " worker " in _cmdline(p)]
    return found[0] if found else None


def test_serve_runs_single_with_two_children_and_stops_cleanly(tmp_path):
    home = tmp_path / "home"
    with serve_agent(IP, home) as agent:
        info = requests.get(agent.base_url + "/api/v1/info", timeout=5).json()["data"]
        assert info["identity"] == "SINGLE" and info["pid"] == agent.pid
        assert info["ip"] == IP and info["homePath"] == str(home.resolve())
        assert (agent.state_dir / "obscale.pid").read_text().strip() == str(agent.pid)
        key = agent.state_dir / "agent_key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        children = agent.descendants()
        # serve is gunicorn's master: the 2 web workers asked for are its forks (same argv),
        # the consumer its third child; nothing else runs.
        serve_argv = _cmdline(agent.pid)
        assert " serve --home " in serve_argv and "app.process.supervise" in serve_argv
        web = [p for p in children if _cmdline(p) == serve_argv]
        assert len(web) == 2, [_cmdline(p) for p in children]
        assert _consumer_pid(agent) is not None
        assert len(children) == 3, [_cmdline(p) for p in children]
        serve_log = (agent.state_dir / "log" / "serve.log").read_text()
        assert f"started the task consumer (pid {_consumer_pid(agent)})" in serve_log
    assert not any(alive(p) for p in children)
    assert not (home / "obscale" / "obscale.pid").exists()


def test_new_web_workers_on_hup_leave_the_pid_file_and_the_consumer(tmp_path):
    with serve_agent(IP, tmp_path / "home") as agent:
        pid_file = agent.state_dir / "obscale.pid"
        before = set(agent.descendants())
        consumer = _consumer_pid(agent)
        os.kill(agent.pid, signal.SIGHUP)  # gunicorn: new workers, the old ones exit
        wait_until(lambda: len(set(agent.descendants()) - before) == 2, 30,
                   what="two new web workers")
        wait_until(lambda: len(agent.descendants()) == 3, 30, what="the old web workers gone")
        assert pid_file.read_text().strip() == str(agent.pid)
        assert _consumer_pid(agent) == consumer
        assert requests.get(agent.base_url + "/api/v1/info", timeout=5).status_code == 200


def test_sigint_stops_cleanly_too(tmp_path):
    agent = start_serve(IP, tmp_path / "home")
    children = agent.descendants()
    assert stop_serve(agent, signum=signal.SIGINT) == 0
    assert not any(alive(p) for p in children)


def test_key_is_reused_across_restarts(tmp_path):
    home = tmp_path / "home"
    keys = []
    for _ in range(2):
        with serve_agent(IP, home) as agent:
            keys.append(requests.get(agent.base_url + "/api/v1/secret", timeout=5).json()
                        ["data"]["public_key"])
    assert keys[0] == keys[1]


def test_dead_consumer_is_restarted(tmp_path):
    with serve_agent(IP, tmp_path / "home") as agent:
        first = _consumer_pid(agent)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: _consumer_pid(agent) not in (None, first), 60,
                   what="a new consumer under serve")
        assert requests.get(agent.base_url + "/healthz", timeout=5).status_code == 200


def _extension_paths(pid: int) -> set[str]:
    """The shared objects mapped by `pid` (Python's C extensions among them)."""
    with open(f"/proc/{pid}/maps") as maps:
        return {line.split()[-1] for line in maps if ".so" in line}


def _worker_log(agent) -> str:
    path = agent.state_dir / "log" / "worker.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _maps_any(paths: set[str], *parts: str) -> list[str]:
    return sorted(p for p in paths if any(part in p for part in parts))


def test_each_process_loads_only_its_own_extensions(tmp_path):
    """What each serving process maps (docs/processes.md, "Lean processes"): gunicorn's master
    no gevent, cryptography, SQLite, ctypes or Flask's C parts; the web worker no ctypes; the
    consumer no gevent, greenlet or Flask's."""
    with serve_agent(IP, tmp_path / "home", workers=1) as agent:
        consumer = _consumer_pid(agent)
        (web,) = [p for p in agent.descendants() if p != consumer]
        # The web worker answering says nothing of how far the consumer got: wait until it
        # has loaded what it runs on before reading what else it maps.
        wait_until(lambda: "task consumer starting" in _worker_log(agent), 60,
                   what="the consumer started")
        master_maps, web_maps = _extension_paths(agent.pid), _extension_paths(web)
        consumer_maps = _extension_paths(consumer)
    assert not _maps_any(master_maps, "/gevent/", "/greenlet/", "/cryptography/", "/markupsafe/",
                         "_sqlite3", "_ctypes", "/zope/")
    assert _maps_any(web_maps, "/gevent/") and _maps_any(web_maps, "/cryptography/")
    assert not _maps_any(web_maps, "_ctypes")
    assert _maps_any(consumer_maps, "_sqlite3") and _maps_any(consumer_maps, "/cryptography/")
    assert not _maps_any(consumer_maps, "/gevent/", "/greenlet/", "/markupsafe/", "/zope/")


def test_children_end_when_serve_is_killed(tmp_path):
    """SIGKILL of serve (gunicorn's master) leaves no orphan: the consumer set its parent-death
    signal (app/process/worker.py, --parent-pid) and the web worker sees its parent gone."""
    agent = start_serve(IP, tmp_path / "home", workers=1)
    children = agent.descendants()
    consumer = _consumer_pid(agent)
    try:
        assert consumer is not None and len(children) == 2
        os.kill(agent.pid, signal.SIGKILL)
        agent.process.wait(timeout=10)
        wait_until(lambda: not alive(consumer), 15, what="the consumer gone with serve")
        wait_until(lambda: not any(alive(p) for p in children), 60,
                   what="the web worker gone with serve")
    finally:
        for pid in [agent.pid, *children]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        agent.process.wait(timeout=10)


def _run_serve(home: Path, ip: str, port: int) -> subprocess.CompletedProcess:
    argv = obscale_command() + ["serve", "--home", str(home), "--ip", ip, "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)


def test_port_taken_exits_non_zero_with_a_clear_message(tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.12", 2886))
    blocker.listen()
    try:
        home = tmp_path / "home"
        home.mkdir()
        done = _run_serve(home, "127.0.0.12", 2886)
    finally:
        blocker.close()
    assert done.returncode != 0
    assert "port 2886 on 127.0.0.12 is already in use" in done.stderr
    assert not (home / "obscale" / "obscale.pid").exists()


@pytest.mark.parametrize("kind,message", [("missing", "is not a directory"), ("file", "is a file"),
                                          ("blocked", "agent state folder")])
def test_unusable_home_exits_non_zero(tmp_path, kind, message):
    home = tmp_path / "home"
    if kind == "file":
        home.write_text("")
    elif kind == "blocked":
        home.mkdir()
        (home / "obscale").write_text("a file where the state folder belongs")
    done = _run_serve(home, "127.0.0.12", 2886)
    assert done.returncode != 0 and message in done.stderr


def test_second_serve_on_the_same_home_is_refused(tmp_path):
    home = tmp_path / "home"
    with serve_agent(IP, home):
        done = _run_serve(home, "127.0.0.12", 2886)
    assert done.returncode != 0 and "already running" in done.stderr


def test_descendants_helper_sees_children():
    child = subprocess.Popen(["sleep", "60"])
    try:
        assert child.pid in descendants(os.getpid())
    finally:
        child.kill()
        child.wait()
