"""Zone removal through the unmodified obshell SDK and `obscale zone delete`, real processes.

One cluster for the module on 127.0.12.1 (zone1, taken over). Addresses: 127.0.12.1-127.0.12.9.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from obshell.service.client_v1 import OBShellHandleError

from tests.support.agents import obscale_command
from tests.support.members import client_of, scale_out, wait_dag
from tests.support.scaleout import ROOT_PASSWORD, Faults, module_setup, obemu_cli

SEED = "127.0.12.1"
setup = module_setup("zonedelete", SEED)


@pytest.fixture
def faults(setup):
    injected = Faults(setup.cluster.state_path)
    yield injected
    injected.clear_all()


@pytest.fixture
def empty_zone(setup):
    """A new, ACTIVE zone without servers (region r3); dropped afterwards if still there."""
    setup.sql("ALTER SYSTEM ADD ZONE 'zone3' REGION 'r3'")
    setup.sql("ALTER SYSTEM START ZONE 'zone3'")
    yield "zone3"
    obemu_cli(setup.cluster.state_path, "unit", "clear", "--zone", "zone3")
    if setup.zone_status("zone3") == "ACTIVE":
        setup.sql("ALTER SYSTEM STOP ZONE 'zone3'")
    if setup.zone_status("zone3") is not None:
        setup.sql("ALTER SYSTEM DELETE ZONE 'zone3'")


def refusal(call) -> OBShellHandleError:
    with pytest.raises(OBShellHandleError) as caught:
        call()
    return caught.value


def test_zone_removal_after_its_last_server_left(setup):
    client = client_of(SEED)
    ip = "127.0.12.2"
    setup.add_target(ip)
    wait_dag(client, client.scale_out(ip, 2886, "zone2", {"mysql_port": "2881",
                                                           "rpc_port": "2882"}).generic_id)
    error = refusal(lambda: client.delete_zone("zone2"))
    assert error.err_code == "OB.Zone.NotEmpty" and "4668" in error.message
    assert f"{ip}:2882" in error.message
    assert client.scale_in_sync(ip, 2886).state == "SUCCEED"
    dag = client.delete_zone_sync("zone2")
    assert (dag.state, dag.name) == ("SUCCEED", "Delete zone")
    assert setup.zone_status("zone2") is None
    assert [code for _, code in setup.statements("STOP ZONE 'zone2'")] == [0]
    assert [code for _, code in setup.statements("DELETE ZONE 'zone2'")] == [0]


def test_refusals(setup, empty_zone):
    client = client_of(SEED)
    assert refusal(lambda: client.delete_zone("zone1")).err_code == "OB.Zone.OwnZone"
    missing = refusal(lambda: client.delete_zone("nozone"))
    assert missing.err_code == "OB.Zone.NotExist" and "4530" in missing.message
    assert refusal(lambda: client.delete_zone("bad-name")).err_code == "Common.IllegalArgument"
    obemu_cli(setup.cluster.state_path, "unit", "add", "--zone", empty_zone)
    error = refusal(lambda: client.delete_zone(empty_zone))
    assert error.err_code == "OB.Zone.NotEmpty" and "1 unit(s)" in error.message
    assert client.get_cluster_unfinished_dag() == []
    assert setup.zone_status(empty_zone) == "ACTIVE"


def test_rollback_recreates_and_restarts_the_zone(setup, empty_zone, faults):
    client = client_of(SEED)
    faults.add(f"{SEED}:2882", r"sql_error:SELECT COUNT\(\*\) FROM oceanbase.DBA_OB_ZONES:1146")
    dag = client.delete_zone(empty_zone)
    failed = wait_dag(client, dag.generic_id, ("FAILED",))
    assert failed.stage == 3
    assert setup.zone_status(empty_zone) is None  # STOP ZONE and DELETE ZONE went through
    client.operate_dag(dag.generic_id, "ROLLBACK")
    done = wait_dag(client, dag.generic_id)
    assert done.operator == "ROLLBACK"
    assert setup.zone_status(empty_zone) == "ACTIVE"
    assert setup.sql("SELECT REGION FROM oceanbase.DBA_OB_ZONES WHERE ZONE = %s",
                     (empty_zone,)) == [("r3",)]
    faults.clear_all()
    env = {**os.environ, "PW": ROOT_PASSWORD}
    result = subprocess.run(obscale_command() + ["zone", "delete", empty_zone, "--agent", SEED,
                                                 "--password-env", "PW", "--wait"],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "zone removal DAG" in result.stdout
    assert setup.zone_status(empty_zone) is None


def test_cli_refusal_names_the_reason(setup):
    env = {**os.environ, "PW": ROOT_PASSWORD}
    result = subprocess.run(obscale_command() + ["zone", "delete", "zone1", "--agent", SEED,
                                                 "--password-env", "PW"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "OB.Zone.OwnZone" in result.stdout + result.stderr
