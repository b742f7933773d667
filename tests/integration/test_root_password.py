"""After `ALTER USER root IDENTIFIED BY ...`: `obscale root-password` records the new password on
every member, each checked by a login; a wrong one is recorded nowhere; scale-outs work again."""
from __future__ import annotations

import os
import subprocess

import pytest
from obshell import ClientV1
from obshell.auth.password import PasswordAuth
from obshell.service.client_v1 import OBShellHandleError

from tests.support.agents import obscale_command
from tests.support.scaleout import ROOT_PASSWORD, scale_out_setup

pytestmark = pytest.mark.integration
FIRST, SECOND, SPARE = "127.0.5.30", "127.0.5.31", "127.0.5.32"
NEW_PASSWORD = "Rotated-pw_7"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    with scale_out_setup(tmp_path_factory.mktemp("root-password"), FIRST) as running:
        running.add_target(SECOND)
        running.add_target(SPARE)
        client = ClientV1(FIRST, 2886, PasswordAuth(ROOT_PASSWORD))
        dag = client.scale_out(SECOND, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
        assert client.wait_dag_succeed(dag.generic_id).state == "SUCCEED"
        yield running


def rotate(agent: str, old: str, new: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    env.update(OLD_ROOT_PW=old, NEW_ROOT_PW=new)
    return subprocess.run(obscale_command() + ["root-password", "--agent", agent,
                                               "--old-password-env", "OLD_ROOT_PW",
                                               "--new-password-env", "NEW_ROOT_PW"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_rotation_is_recorded_on_every_member_and_scale_out_works_again(setup):
    wrong = rotate(f"{FIRST}:2886", ROOT_PASSWORD, "not-the-new-one")
    assert wrong.returncode != 0
    assert "OceanBase refused the new root@sys password" in wrong.stderr
    assert "not-the-new-one" not in wrong.stdout + wrong.stderr
    setup.sql(f"ALTER USER root IDENTIFIED BY '{NEW_PASSWORD}'")
    try:
        done = rotate(f"{SECOND}:2886", ROOT_PASSWORD, NEW_PASSWORD)
        assert done.returncode == 0, done.stderr
        assert f"{FIRST}:2886: new root@sys password recorded" in done.stdout
        assert f"{SECOND}:2886: new root@sys password recorded" in done.stdout
        assert NEW_PASSWORD not in done.stdout + done.stderr
        again = rotate(f"{FIRST}:2886", ROOT_PASSWORD, NEW_PASSWORD)  # harmless repeat
        assert again.returncode == 0, again.stderr
        with pytest.raises(OBShellHandleError):
            ClientV1(FIRST, 2886, PasswordAuth(ROOT_PASSWORD)).get_cluster_unfinished_dag()
        client = ClientV1(SECOND, 2886, PasswordAuth(NEW_PASSWORD))
        dag = client.scale_out(SPARE, 2886, "zone1", {"mysql_port": 2881, "rpc_port": 2882})
        assert client.wait_dag_succeed(dag.generic_id).state == "SUCCEED"
    finally:
        conn = setup.cluster.connect(NEW_PASSWORD)
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"ALTER USER root IDENTIFIED BY '{ROOT_PASSWORD}'")
        finally:
            conn.close()
