"""Scale-in through the unmodified obshell SDK (and `obscale scale-in`), with real processes.

One cluster for the module on 127.0.11.1 (zone1, taken over); each test scales its own node out
first and leaves the cluster as it found it. Addresses: 127.0.11.1-127.0.11.9.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from obshell.service.client_v1 import OBShellHandleError

from app.peer.client import AgentClient
from app.peer.errors import PeerRefused
from obemu.procutil import observer_pid
from tests.support.agents import obscale_command, start_serve, stop_serve
from tests.support.members import (client_of, freeze_tree, kill_tree, scale_out, signal_pids,
                                   wait_dag)
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, Faults, module_setup, obemu_cli

SEED = "127.0.11.1"
# A short RPC budget: a stage that calls a stopped agent fails within seconds (last test).
setup = module_setup("scalein", SEED, {"OBSCALE_SCALE_OUT_RPC_TIMEOUT_S": "10"})


@pytest.fixture
def faults(setup):
    injected = Faults(setup.cluster.state_path)
    yield injected
    injected.clear_all()


def identity_of(ip: str) -> str:
    return requests.get(f"http://{ip}:2886/api/v1/info", timeout=5).json()["data"]["identity"]


def registry_ips(setup) -> list[str]:
    return sorted(row[0] for row in setup.sql("SELECT ip FROM ocs.obscale_cluster_agent"))


def servers(setup) -> list[tuple]:
    return setup.sql("SELECT SVR_IP, ZONE, STATUS FROM oceanbase.DBA_OB_SERVERS ORDER BY SVR_IP")


def error_of(call) -> OBShellHandleError:
    with pytest.raises(OBShellHandleError) as caught:
        call()
    return caught.value


def err_code(call) -> str:
    return error_of(call).err_code


def wipe_data(home: Path) -> None:
    """What an operator does before the node joins again: its data directories go."""
    shutil.rmtree(home / "store", ignore_errors=True)
    for config_file in (home / "etc").glob("observer.config.bin*"):
        config_file.unlink()


@contextlib.contextmanager
def joined(setup, ip: str, zone: str = "zone1"):
    """A SINGLE agent on `ip` scaled out into `zone` through the SDK; afterwards its server is
    out of the cluster (force_kill when its agent is gone) and its processes are stopped."""
    handle = setup.targets.get(ip) or setup.add_target(ip)
    client = client_of(SEED)
    wait_dag(client, client.scale_out(ip, 2886, zone, {"mysql_port": "2881",
                                                       "rpc_port": "2882"}).generic_id)
    try:
        yield handle
    finally:
        if setup.server_row(ip) is not None:
            alive = handle.process.poll() is None
            dag = client.scale_in(ip, 2886, force_kill=not alive)
            if dag is not None:
                wait_dag(client, dag.generic_id)
        pid = observer_pid(handle.home)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        wipe_data(handle.home)


def test_scale_out_then_in_then_join_again(setup):
    before = servers(setup)
    ip = "127.0.11.2"
    with joined(setup, ip) as node:
        assert identity_of(ip) == "CLUSTER AGENT"
        dag = client_of(SEED).scale_in_sync(ip, 2886)
        assert (dag.state, dag.name) == ("SUCCEED", "Cluster scale in")
        assert servers(setup) == before
        assert registry_ips(setup) == [SEED]
        assert identity_of(ip) == "SINGLE"
        assert observer_pid(node.home) is None
        assert (node.home / "store" / "sstable").is_dir()  # data directories are left
        # a second request for the same node: it is no longer in the cluster (204)
        assert client_of(SEED).scale_in(ip, 2886) is None
        wipe_data(node.home)
        # the node joins again, then leaves through the CLI with its data removed
        scale_out_dag = scale_out(client_of(SEED), ip)
        wait_dag(client_of(SEED), scale_out_dag.generic_id)
        assert identity_of(ip) == "CLUSTER AGENT"
        env = {**os.environ, "PW": ROOT_PASSWORD}
        result = subprocess.run(obscale_command() + ["scale-in", "--agent", SEED, "--target", ip,
                                                     "--password-env", "PW", "--remove-data",
                                                     "--wait"],
                                env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "scale-in DAG" in result.stdout
        assert identity_of(ip) == "SINGLE" and servers(setup) == before
        assert not (node.home / "store").exists()


def test_refusals_before_anything_is_created(setup):
    client = client_of(SEED)
    assert err_code(lambda: client.scale_in(SEED, 2886)) == "OB.Cluster.ScaleInLastServer"
    assert err_code(lambda: client.scale_in(SEED, 2886, force_kill=True)) == \
        "OB.Cluster.ScaleInLastServer"
    assert client.scale_in("127.0.11.9", 2886) is None  # not in the cluster: 204
    # obshell's other route for it, raw: the same answer, and a wrong body is refused
    seed = AgentClient(SEED, 2886, timeout=10.0)
    assert seed.request("DELETE", "/api/v1/observer", {"agent_info": {"ip": "127.0.11.9",
                                                                      "port": 2886},
                                                       "force_kill": False},
                        auth=ROOT_PASSWORD) is None
    with pytest.raises(PeerRefused) as refused:
        seed.request("DELETE", "/api/v1/observer", {"agent_info": {"ip": "not an ip"}},
                     auth=ROOT_PASSWORD)
    assert refused.value.err_code in ("Common.IllegalArgument", "Common.BindJsonFailed",
                                      "Common.InvalidIp")
    with pytest.raises(PeerRefused) as refused:
        seed.request("DELETE", "/api/v1/observer", {"agent_info": {"ip": SEED, "port": 2886}},
                     auth=ROOT_PASSWORD)
    assert refused.value.err_code == "OB.Cluster.ScaleInLastServer"
    ip = "127.0.11.3"
    with joined(setup, ip, "zone2"):
        obemu_cli(setup.cluster.state_path, "unit", "add", "--zone", "zone2")
        try:
            error = error_of(lambda: client.scale_in(ip, 2886))
            assert error.err_code == "OB.Cluster.ScaleInZoneKeepsUnits"
            assert "4624" in error.message and "zone2" in error.message
        finally:
            obemu_cli(setup.cluster.state_path, "unit", "clear", "--zone", "zone2")
        assert err_code(lambda: client.scale_in(ip, 2886, force_kill=True)) == \
            "OB.Cluster.ScaleInServerAlive"
        assert client.get_cluster_unfinished_dag() == []
        # a forged RPC (right password, a DAG the cluster does not run) changes nothing
        peer = AgentClient(ip, 2886, timeout=10.0)
        refusals = {}
        for action in ("begin", "finish"):
            with pytest.raises(PeerRefused) as refused:
                peer.request("POST", "/rpc/v1/ob/scale_in", {
                    "action": action, "coordinateDagId": "199",
                    "allAgents": [{"ip": SEED, "port": 2886}]}, auth=ROOT_PASSWORD)
            refusals[action] = (refused.value.err_code, refused.value.message)
        assert refusals["begin"][0] == "Common.IllegalArgument"
        assert "cannot be confirmed" in refusals["begin"][1]
        assert refusals["finish"][0] == "Agent.Identify.NotSupportOperation"  # not SCALING IN
        assert setup.server_row(ip)[1] == "ACTIVE" and identity_of(ip) == "CLUSTER AGENT"
        assert observer_pid(setup.targets[ip].home) is not None
        # the node asked to remove itself while the only other member does not answer
        frozen = freeze_tree(setup.coordinator)
        try:
            error = error_of(lambda: client_of(ip).scale_in(ip, 2886))
        finally:
            signal_pids(frozen, signal.SIGCONT)
        assert error.err_code == "OB.Cluster.ScaleInNoOtherMember"
        assert "send it to another member" in error.message
    zone2 = setup.zone_status("zone2")
    if zone2 is not None:  # leave the cluster's zones as they were
        wait_dag(client, client.delete_zone("zone2").generic_id)


def test_rollback_before_the_deletion_finished_cancels_it(setup, faults):
    ip = "127.0.11.4"
    client = client_of(SEED)
    with joined(setup, ip):
        faults.add(f"{ip}:2882", "slow_delete:600")
        dag = client.scale_in(ip, 2886)
        wait_until(lambda: client.get_dag(dag.generic_id, show_detail=False).stage >= 3, 60,
                   what="the scale-in waits for OceanBase")
        assert setup.server_row(ip)[1] == "DELETING"
        assert identity_of(ip) == "SCALING IN"
        client.operate_dag(dag.generic_id, "CANCEL")
        wait_dag(client, dag.generic_id, ("FAILED",))
        client.operate_dag(dag.generic_id, "ROLLBACK")
        done = wait_dag(client, dag.generic_id)
        assert done.operator == "ROLLBACK"
        assert setup.server_row(ip)[1] == "ACTIVE"
        assert identity_of(ip) == "CLUSTER AGENT"
        assert registry_ips(setup) == sorted([SEED, ip])
        assert [code for _, code in setup.statements(f"CANCEL DELETE SERVER '{ip}:2882'")] == [0]
        faults.clear_all()


def test_once_oceanbase_deleted_the_server_rollback_is_refused_and_retry_finishes(setup, faults):
    ip = "127.0.11.6"
    client = client_of(SEED)
    with joined(setup, ip) as node:
        faults.add(f"{ip}:2882", "slow_delete:600")
        dag = client.scale_in(ip, 2886)
        wait_until(lambda: client.get_dag(dag.generic_id, show_detail=False).stage >= 3, 60,
                   what="the scale-in waits for OceanBase")
        stop_serve(node, check=False)  # the node's agent goes away (its observer stays)
        faults.clear_all()  # and OceanBase finishes deleting its server
        failed = wait_dag(client, dag.generic_id, ("FAILED",))
        assert failed.stage == 5 and setup.server_row(ip) is None
        error = error_of(lambda: client.operate_dag(dag.generic_id, "ROLLBACK"))
        assert error.err_code == "Task.Dag.Operator.RollbackNotAllowed"
        assert registry_ips(setup) == [SEED]  # nothing was put back
        setup.targets[ip] = start_serve(ip, node.home, env=setup.env, workers=setup.workers)
        client.operate_dag(dag.generic_id, "RETRY")
        done = wait_dag(client, dag.generic_id)
        assert (done.state, done.operator) == ("SUCCEED", "RUN")
        assert identity_of(ip) == "SINGLE" and observer_pid(node.home) is None


def test_force_kill_of_a_node_whose_processes_are_all_dead(setup):
    ip = "127.0.11.5"
    client = client_of(SEED)
    with joined(setup, ip) as node:
        kill_tree(node)
        os.kill(observer_pid(node.home), signal.SIGKILL)
        wait_until(lambda: setup.server_row(ip)[1] == "INACTIVE", 60, what="server INACTIVE")
        assert err_code(lambda: client.scale_in(ip, 2886)) == "Agent.RPC.RequestFailed"
        dag = client.scale_in(ip, 2886, force_kill=True)
        wait_dag(client, dag.generic_id)
        assert setup.server_row(ip) is None
        assert registry_ips(setup) == [SEED]
        logs = " ".join(line for n in client.get_dag(dag.generic_id).nodes
                        for t in n.sub_tasks for line in t.task_logs)
        assert "force_kill" in logs
