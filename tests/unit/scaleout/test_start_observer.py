"""Target stage 'Start observer': the launch budget, and a stop that never sleeps in the task.

The observers here are real child processes running a script from `<home>/bin/observer` with
the home as their working directory, as the agent's checks expect.
"""
import os
import signal
import subprocess
import sys

import pytest

from app.dag.template import Wait
from app.process import procfs
from app.scaleout import start_observer

OBSERVER_SCRIPT = """import signal, sys
if sys.argv[1] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
sys.stdin.read()
"""


class StageContext:
    """What the stage functions read and write of their TaskContext, kept in memory."""

    def __init__(self, home, **config):
        self.config = {"HOME": str(home), "IP": "127.0.0.1", "OBSERVER_STOP_TIMEOUT_S": 60,
                       "OBSERVER_START_TIMEOUT_S": 600, "SCALE_OUT_POLL_INTERVAL_S": 2.0, **config}
        self.params = {"obConfigs": {"mysql_port": "2881"}, "dirs": {"data_dir": str(home / "store")}}
        self.local, self.lines, self.waited = {}, [], 0.0

    def set_local(self, key, value):
        self.local[key] = value

    def log(self, line):
        self.lines.append(line)

    def log_change(self, key, line):
        self.lines.append(line)

    def waited_s(self):
        return self.waited


@pytest.fixture
def run_observer(home):
    """Start a fake observer of `home` (its pid in run/observer.pid); killed at teardown."""
    (home / "bin" / "observer").write_text(OBSERVER_SCRIPT)
    (home / "run").mkdir()
    started = []

    def start(mode: str) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, str(home / "bin" / "observer"), mode],
                                   cwd=home, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline() == "ready\n"
        (home / "run" / "observer.pid").write_text(f"{process.pid}\n")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()


def test_an_observer_that_stops_on_sigterm_is_stopped_in_one_check(home, run_observer):
    process = run_observer("honour-term")
    ctx = StageContext(home)
    start_observer.stop_observer(ctx)
    assert not procfs.alive(process.pid)
    assert process.wait() == -signal.SIGTERM
    assert ctx.lines[-1] == f"stopped observer pid {process.pid}"


def test_stopping_a_stubborn_observer_waits_instead_of_sleeping(home, run_observer):
    process = run_observer("ignore-term")
    ctx = StageContext(home, OBSERVER_STOP_TIMEOUT_S=3)
    with pytest.raises(Wait, match=f"observer pid {process.pid} is stopping"):
        start_observer.stop_observer(ctx)
    assert procfs.alive(process.pid), "SIGKILL came before the stop budget was spent"
    with pytest.raises(Wait):  # checked again within the budget: still no SIGKILL
        start_observer.stop_observer(ctx)
    assert procfs.alive(process.pid)


def test_sigkill_once_the_stop_budget_is_spent(home, run_observer):
    process = run_observer("ignore-term")
    ctx = StageContext(home, OBSERVER_STOP_TIMEOUT_S=3)
    with pytest.raises(Wait):
        start_observer.stop_observer(ctx)
    ctx.waited = 3.0
    start_observer.stop_observer(ctx)
    assert process.wait() == -signal.SIGKILL
    assert any("SIGKILL" in line for line in ctx.lines)


def test_a_pid_that_is_not_our_observer_is_never_signalled(home, tmp_path):
    (home / "run").mkdir()
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], cwd=tmp_path,
                          stdin=subprocess.PIPE) as stranger:
        (home / "run" / "observer.pid").write_text(f"{stranger.pid}\n")
        start_observer.stop_observer(StageContext(home))
        assert procfs.alive(stranger.pid)
        stranger.kill()


def test_prepare_retry_waits_for_the_old_observer_too(home, run_observer):
    process = run_observer("ignore-term")
    ctx = StageContext(home)
    ctx.local["launched"] = True
    with pytest.raises(Wait):
        start_observer.prepare_retry(ctx)
    assert ctx.local["launched"] is True  # not relaunched while the old one still runs
    ctx.waited = 60.0
    start_observer.prepare_retry(ctx)
    assert process.wait() == -signal.SIGKILL and ctx.local["launched"] is False


@pytest.mark.parametrize("timeouts,budget", [({"start_s": 123}, 123.0), ({}, 600.0)])
def test_the_launcher_gets_the_start_budget(home, monkeypatch, timeouts, budget):
    seen = []

    def launch(home_dir, argv, timeout_s):
        seen.append(timeout_s)
        (home / "run").mkdir(exist_ok=True)
        (home / "run" / "observer.pid").write_text(f"{os.getpid()}\n")
        return 0, ""

    monkeypatch.setattr(start_observer.observer, "launch", launch)
    ctx = StageContext(home, OBSERVER_STOP_TIMEOUT_S=7)
    ctx.params.update(timeouts=timeouts, dirs={"data_dir": str(home / "store")},
                      obConfigs={"cluster": "c", "cluster_id": "1", "zone": "z1",
                                 "mysql_port": "2881", "rpc_port": "2882"})
    assert start_observer._launch(ctx, str(home), "127.0.0.1", ctx.params) == os.getpid()
    assert seen == [budget]


def test_the_rollback_budget_covers_sigterm_then_sigkill():
    from app.config import load_config
    from app.scaleout.templates import target_nodes

    config = load_config(environ={})
    spec = {n.name: n.tasks[0] for n in target_nodes({"timeouts": {"start_s": 20}})}["Start observer"]
    assert spec.budget(config) == 20
    assert spec.budget(config, "rollback") > config["OBSERVER_STOP_TIMEOUT_S"]
