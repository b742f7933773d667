"""SIGKILL the coordinator's task consumer at several points of a scale-out: the supervisor
restarts it, the DAG still succeeds, and ADD SERVER ran exactly once."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.support.agents import alive, descendants
from tests.support.polling import wait_until
from tests.support.scaleout import module_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.0.91"


setup = module_setup("scale-out-crash", COORDINATOR)


def consumer_pid(agent) -> int:
    """The `obscale worker` child of this agent's `obscale serve`."""
    for pid in descendants(agent.pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"worker" in cmdline:
            return pid
    raise AssertionError("no task consumer under obscale serve")


def wait_for(predicate, what: str, timeout: float = 60.0):
    return wait_until(predicate, timeout, what=what)


def kill_consumer_at(setup, client, dag_id: str, stage: int) -> None:
    """SIGKILL the consumer once the DAG is running stage `stage`; wait for its replacement."""
    wait_for(lambda: client.get_dag(dag_id, show_detail=False).stage >= stage, f"stage {stage}")
    victim = consumer_pid(setup.coordinator)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: not alive(victim), "the consumer to die")
    wait_for(lambda: _other_consumer(setup, victim), "a new consumer")


def _other_consumer(setup, old: int) -> bool:
    try:
        return consumer_pid(setup.coordinator) != old
    except AssertionError:
        return False


@pytest.mark.parametrize("ip,zone,kill_at", [
    ("127.0.0.92", "zone1", [2]),
    ("127.0.0.93", "zone1", [5, 7]),
    ("127.0.0.94", "zone9", [8, 9, 11]),
])
def test_consumer_killed_midway(setup, client, ip, zone, kill_at):
    setup.add_target(ip)
    dag = client.scale_out(ip, 2886, zone, {"mysql_port": 2881, "rpc_port": 2882})
    for stage in kill_at:
        kill_consumer_at(setup, client, dag.generic_id, stage)
    done = client.wait_dag_succeed(dag.generic_id)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert len(setup.statements(f"ADD SERVER '{ip}:2882'")) == 1
    assert setup.server_row(ip)[2] is not None
    if zone == "zone9":
        assert len(setup.statements("ADD ZONE 'zone9'")) == 1


def test_target_consumer_killed_while_starting_observer(setup, client):
    target = setup.add_target("127.0.0.95")
    dag = client.scale_out("127.0.0.95", 2886, "zone1", {})
    wait_for(lambda: client.get_dag(dag.generic_id, show_detail=False).stage >= 5, "stage 5")
    os.kill(consumer_pid(target), signal.SIGKILL)
    done = client.wait_dag_succeed(dag.generic_id)
    assert done.state == "SUCCEED"
    pids = [int(line) for line in [(target.home / "run" / "observer.pid").read_text().strip()]]
    assert len(pids) == 1 and alive(pids[0])
    assert len(setup.statements("ADD SERVER '127.0.0.95:2882'")) == 1
