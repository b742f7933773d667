"""SIGKILL the task consumer of the coordinator (or of the target) while it is held at a named
stage of a scale-out: the supervisor restarts it, the DAG still succeeds, and each ALTER ran
exactly once. Hold files (tests/support/holds.py) pin every kill to its stage."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.agents import alive, descendants
from tests.support.holds import hold_file, reached
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, held_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.0.91"


@pytest.fixture
def setup(tmp_path, holds):
    """A cluster and coordinator per test: the supervisor's restart backoff doubles with every
    kill within a minute, so a shared coordinator would make each test wait for the others."""
    with held_setup(tmp_path / "cluster", COORDINATOR, holds) as running:
        yield running


@pytest.fixture
def client(setup):
    """The obshell SDK on this test's coordinator."""
    return ClientV1(setup.coordinator.ip, 2886, PasswordAuth(ROOT_PASSWORD))


def consumer_pid(agent) -> int:
    """The `obscale worker` child of this agent's `obscale serve`."""
    for pid in descendants(agent.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in cmdline:
            return pid
    raise AssertionError("no task consumer under obscale serve")


def wait_for(predicate, what: str, timeout: float = 90.0):
    return wait_until(predicate, timeout, what=what)


def kill_consumer_held_at(agent, hold: Path) -> None:
    """Once the consumer blocks on `hold`: SIGKILL it, release the hold, await its successor."""
    wait_for(reached(hold).exists, f"the consumer held at {hold.name}")
    victim = consumer_pid(agent)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not alive(victim), "the consumer to die")
    hold.unlink()
    wait_for(lambda: _other_consumer(agent, victim), "a new consumer")


def _other_consumer(agent, old: int) -> bool:
    try:
        return consumer_pid(agent) != old
    except AssertionError:
        return False


# (stage, after): after=True holds once the stage's task returned, before the engine records it.
KILL_POINTS = {
    "stage 2 after the target DAG was created": ("127.0.0.92", "zone1", [(2, True)]),
    "stage 5 before, stage 7 after ADD SERVER": ("127.0.0.93", "zone1", [(5, False), (7, True)]),
    "new zone: after START ZONE, before ADD SERVER, before the last check": (
        "127.0.0.94", "zone9", [(8, True), (9, False), (11, False)]),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_consumer_killed_midway(setup, client, holds, point):
    ip, zone, kill_at = KILL_POINTS[point]
    setup.add_target(ip)
    files = [hold_file(holds, "cluster", stage, after) for stage, after in kill_at]
    for path in files:
        path.touch()
    dag = client.scale_out(ip, 2886, zone, {"mysql_port": 2881, "rpc_port": 2882})
    for (stage, _), path in zip(kill_at, files):
        wait_for(reached(path).exists, f"stage {stage} held")
        assert client.get_dag(dag.generic_id, show_detail=False).stage == stage
        kill_consumer_held_at(setup.coordinator, path)
    done = client.wait_dag_succeed(dag.generic_id)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert len(setup.statements(f"ADD SERVER '{ip}:2882'")) == 1
    assert setup.server_row(ip)[2] is not None
    if zone == "zone9":
        assert len(setup.statements("ADD ZONE 'zone9'")) == 1
        assert len(setup.statements("START ZONE 'zone9'")) == 1


def test_target_consumer_killed_after_starting_observer(setup, client, holds):
    target = setup.add_target("127.0.0.95")
    hold = hold_file(holds, "local", 5, after=True)  # observer launched and healthy, not recorded
    hold.touch()
    dag = client.scale_out("127.0.0.95", 2886, "zone1", {})
    wait_for(reached(hold).exists, "target stage 5 held")
    pid_file = target.home / "run" / "observer.pid"
    first = int(pid_file.read_text().strip())
    kill_consumer_held_at(target, hold)
    done = client.wait_dag_succeed(dag.generic_id)
    assert done.state == "SUCCEED"
    assert int(pid_file.read_text().strip()) == first and alive(first)  # not started twice
    assert len(setup.statements("ADD SERVER '127.0.0.95:2882'")) == 1
