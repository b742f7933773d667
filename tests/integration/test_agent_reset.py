"""`obscale agent reset` on a stuck target's host: back to SINGLE at once when the cluster does
not list its server (the coordinator died before ADD SERVER); refused once the cluster lists it."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support import v2
from tests.support.agents import alive, obscale_command
from tests.support.holds import HOLD_DIR_ENV, hold_file, reached
from tests.support.members import kill_tree
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, held_setup

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.5.50"


@pytest.fixture
def setup(tmp_path, holds):
    with held_setup(tmp_path / "cluster", COORDINATOR, holds) as running:
        yield running


def reset(home: Path, env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    full.update({k: v for k, v in env.items()
                 if k.startswith("OBSCALE_") and k != "OBSCALE_TEMPLATE_MODULES"})
    return subprocess.run(obscale_command() + ["agent", "reset", "--home", str(home),
                                               "--timeout", "120"],
                          env=full, capture_output=True, text=True, timeout=180, check=False)


def start_held(setup, holds, target_ip: str, stage: int, after: bool = False):
    target = setup.add_target(target_ip, {HOLD_DIR_ENV: ""})
    hold = hold_file(holds, "cluster", stage, after)
    hold.touch()
    client = ClientV1(COORDINATOR, 2886, PasswordAuth(ROOT_PASSWORD))
    client.scale_out(target_ip, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
    wait_until(reached(hold).exists, 90, what=f"the coordinator held at stage {stage}")
    return target, hold


def identity(target) -> str:
    return v2.send(target.base_url, "GET", "/api/v1/info").json()["data"]["identity"]


def test_reset_returns_a_target_whose_coordinator_died_to_single(setup, holds):
    target, _ = start_held(setup, holds, "127.0.5.51", 6)  # before ADD SERVER
    observer_pid = int((target.home / "run" / "observer.pid").read_text().strip())
    kill_tree(setup.coordinator)
    assert identity(target) == "SCALING OUT"
    done = reset(target.home, setup.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the agent is SINGLE again" in done.stdout
    assert identity(target) == "SINGLE"
    assert not alive(observer_pid)
    assert not (target.home / "store").exists()
    again = reset(target.home, setup.env)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_reset_is_refused_while_the_cluster_lists_the_server(setup, holds):
    target, hold = start_held(setup, holds, "127.0.5.52", 8)  # ADD SERVER done
    refused = reset(target.home, setup.env)
    assert refused.returncode != 0
    assert "the cluster lists this node's server" in refused.stderr
    assert identity(target) == "SCALING OUT"
    hold.unlink()
    client = ClientV1(COORDINATOR, 2886, PasswordAuth(ROOT_PASSWORD))
    dag = client.get_cluster_unfinished_dag()[0]
    assert client.wait_dag_succeed(dag.generic_id).state == "SUCCEED"
