"""`obscale sandbox`, the client commands against a sandbox, and `obscale demo`, as users run them.

Every command runs as a subprocess; addresses 127.0.0.60-79 only; every pid is checked gone.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pymysql
import pytest
import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from tests.support.agents import alive, descendants, obscale_command
from tests.support.scaleout import Faults, release_cluster_lock

pytestmark = pytest.mark.integration
BASE_IP = "127.0.0.60"  # the cluster
# .61 scaled out, .62 retried, .63 rolled back, .64 only prechecked: one address per test
SPARES = ["127.0.0.61", "127.0.0.62", "127.0.0.63", "127.0.0.64"]
UP_DOWN_IP = "127.0.0.66"
DEMO_IP = "127.0.0.70"
KEEP_IP = "127.0.0.74"
PW_VAR = "SANDBOX_TEST_PW"


def run(*args: str, password: str | None = None, env_password: str | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess:
    """Run obscale; assert the password never shows in its output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    if env_password is not None:
        env[PW_VAR] = env_password
    result = subprocess.run(obscale_command() + list(args), env=env, capture_output=True,
                            text=True, timeout=timeout, check=False)
    for secret in filter(None, (password, env_password)):
        assert secret not in result.stdout + result.stderr
    return result


def recorded_pids(directory: Path) -> list[int]:
    """Agents, their children and every observer of a sandbox, read while it runs."""
    info = json.loads((directory / "sandbox.json").read_text())
    serves = [agent["pid"] for agent in info["agents"]]
    homes = [Path(info["cluster"]["home"])] + [Path(agent["home"]) for agent in info["agents"]]
    observers = [int(p.read_text()) for home in homes
                 if (p := home / "run" / "observer.pid").exists()]
    return sorted({*serves, *observers, info["cluster"]["observer_pid"],
                   *(kid for pid in serves for kid in descendants(pid))})


def kill_leftovers(pids: list[int]) -> list[int]:
    """SIGKILL what is still alive (by pid); returns those pids."""
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def down_and_check(directory: Path, password: str) -> None:
    pids = recorded_pids(directory)
    result = run("sandbox", "down", "--dir", str(directory), password=password)
    left = kill_leftovers(pids)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not left, f"left running after sandbox down: {left}"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sandbox-cli")
    up = run("sandbox", "up", "--dir", str(directory), "--base-ip", BASE_IP, "--spare", str(len(SPARES)))
    info_path = directory / "sandbox.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    password = info.get("cluster", {}).get("root_password", "")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert password and password not in up.stdout + up.stderr
        yield {"dir": directory, "info": info, "password": password, "up": up.stdout}
    finally:
        if info_path.exists():
            down_and_check(directory, password)


def cli(sandbox, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    """A client command against the sandbox's CLUSTER AGENT, the password in PW_VAR."""
    given = sandbox["password"] if password is None else password
    return run(*args, "--agent", f"{BASE_IP}:2886", "--password-env", PW_VAR,
               password=sandbox["password"], env_password=given)


@pytest.fixture(scope="module")
def sdk(sandbox):
    """The obshell SDK on the sandbox's CLUSTER AGENT (for fixtures that tidy up)."""
    return ClientV1(BASE_IP, 2886, PasswordAuth(sandbox["password"]))


@pytest.fixture
def faults(sandbox, sdk):
    """obemu faults for this test; on teardown they are cleared and the cluster lock freed."""
    release_cluster_lock(sdk)
    injected = Faults(sandbox["info"]["cluster"]["state_file"])
    yield injected
    injected.clear_all()
    release_cluster_lock(sdk)


@pytest.fixture(scope="module")
def scaled_out_61(sandbox) -> dict:
    """127.0.0.61 scaled into zone1 with `scale-out --wait`; the output and the DAG id."""
    result = cli(sandbox, "scale-out", "--target", "127.0.0.61:2886", "--zone", "zone1",
                 "-c", "mysql_port=2881", "-c", "rpc_port=2882", "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    dag_id = result.stdout.split("scale-out DAG ", 1)[1].split()[0]
    return {"stdout": result.stdout, "dag_id": dag_id}


def sql(sandbox, statement: str) -> list[tuple]:
    conn = pymysql.connect(host=BASE_IP, port=2881, user="root", password=sandbox["password"],
                           ssl_disabled=True, connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
            return list(cursor.fetchall())
    finally:
        conn.close()


def identity(ip: str) -> str:
    return requests.get(f"http://{ip}:2886/api/v1/info", timeout=10).json()["data"]["identity"]


def printed_command(output: str, verb: str) -> list[str]:
    """The `obscale dag <verb> ...` line a failure report printed, as argv after `obscale`."""
    line = next(line.strip() for line in output.splitlines()
                if line.strip().startswith(f"obscale dag {verb} "))
    return line.split()[1:]


def test_up_writes_a_private_sandbox_file(sandbox):
    path = sandbox["dir"] / "sandbox.json"
    assert path.stat().st_mode & 0o777 == 0o600
    info = sandbox["info"]
    assert {"name", "id", "root_password", "mysql_ip", "mysql_port"} <= set(info["cluster"])
    assert (info["cluster"]["mysql_ip"], info["cluster"]["mysql_port"]) == (BASE_IP, 2881)
    assert [(a["ip"], a["port"], a["identity"]) for a in info["agents"]] == [
        (BASE_IP, 2886, "CLUSTER AGENT")] + [(ip, 2886, "SINGLE") for ip in SPARES]
    for agent in info["agents"][1:]:
        assert os.access(Path(agent["home"]) / "bin" / "observer", os.X_OK)
    assert str(path) in sandbox["up"] and "obscale scale-out" in sandbox["up"]


def test_up_refuses_a_running_sandbox(sandbox):
    again = run("sandbox", "up", "--dir", str(sandbox["dir"]), "--base-ip", BASE_IP,
                password=sandbox["password"])
    assert again.returncode == 1 and "already running" in again.stderr


def test_status_shows_agents_observers_servers_and_zones(sandbox):
    result = run("sandbox", "status", "--dir", str(sandbox["dir"]), "--json",
                 password=sandbox["password"])
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert [a["agent"] for a in status["agents"]] == [f"{ip}:2886" for ip in [BASE_IP, *SPARES]]
    # what each agent says now (other tests turn spares into CLUSTER AGENTs)
    assert [a["identity"] for a in status["agents"]] == [identity(ip) for ip in [BASE_IP, *SPARES]]
    assert status["agents"][0]["identity"] == "CLUSTER AGENT"
    assert all(a["running"] for a in status["agents"]) and status["observers"][0]["running"]
    assert status["servers"][0]["SVR_IP"] == BASE_IP and status["zones"][0]["ZONE"] == "zone1"
    text = run("sandbox", "status", "--dir", str(sandbox["dir"]), password=sandbox["password"])
    assert "CLUSTER AGENT" in text.stdout and "ACTIVE" in text.stdout
    assert "servers:" in text.stdout and "zones:" in text.stdout


def test_scale_out_wait_succeeds_and_dag_show(sandbox, scaled_out_61):
    out = scaled_out_61["stdout"]
    assert "'Cluster scale out' succeeded in" in out and "9/9 stages done" in out
    assert "[####################] 9/9" in out
    rows = sql(sandbox, "SELECT ZONE, STATUS FROM oceanbase.DBA_OB_SERVERS "
                        "WHERE SVR_IP = '127.0.0.61'")
    assert rows == [("zone1", "ACTIVE")] and identity("127.0.0.61") == "CLUSTER AGENT"
    shown = cli(sandbox, "dag", "show", scaled_out_61["dag_id"])
    assert shown.returncode == 0, shown.stderr
    assert "state     SUCCEED/RUN (succeeded)" in shown.stdout and "stage     9/9" in shown.stdout
    assert "Integrate server config" in shown.stdout and "Add server for scale_out" in shown.stdout


def test_precheck_fails_for_a_server_already_in_the_cluster(sandbox, scaled_out_61):
    result = cli(sandbox, "precheck", "--target", "127.0.0.61", "--zone", "zone1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "server_absent" in result.stdout and "precheck FAILED: " in result.stdout
    ok = cli(sandbox, "precheck", "--target", "127.0.0.64", "--zone", "zone1")
    assert ok.returncode == 0 and "precheck passed" in ok.stdout


def test_failed_scale_out_retried_from_the_cli(sandbox, faults):
    faults.add("127.0.0.62:2882", "refuse_add_server")
    failed = cli(sandbox, "scale-out", "--target", "127.0.0.62", "--zone", "zone1", "--wait")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "failed at stage 7/9: Add server for scale_out" in failed.stdout
    assert "MySQL error 4179" in failed.stdout
    faults.clear("127.0.0.62:2882")
    retry = run(*printed_command(failed.stdout, "retry"), password=sandbox["password"],
                env_password=sandbox["password"])
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert "RETRY accepted" in retry.stdout and "succeeded in" in retry.stdout
    assert identity("127.0.0.62") == "CLUSTER AGENT"


def test_failed_scale_out_rolled_back_from_the_cli(sandbox, faults):
    faults.add("127.0.0.63:2882", "refuse_add_server")
    failed = cli(sandbox, "scale-out", "--target", "127.0.0.63", "--zone", "zone2", "--new-zone",
                 "--wait")
    assert failed.returncode == 1 and "failed at stage 9/11" in failed.stdout
    dag_id = printed_command(failed.stdout, "rollback")[2]
    rollback = run(*printed_command(failed.stdout, "rollback"), password=sandbox["password"],
                   env_password=sandbox["password"])
    assert rollback.returncode == 0, rollback.stdout + rollback.stderr
    assert "rolled back in" in rollback.stdout and "nothing was scaled out" in rollback.stdout
    watched = cli(sandbox, "dag", "watch", dag_id)
    assert watched.returncode == 1 and "succeeded" not in watched.stdout
    shown = cli(sandbox, "dag", "show", dag_id)
    assert "(rolled back)" in shown.stdout and "flags     rolled_back=true" in shown.stdout
    assert sql(sandbox, "SELECT ZONE FROM oceanbase.DBA_OB_ZONES WHERE ZONE = 'zone2'") == []
    assert identity("127.0.0.63") == "SINGLE"


def test_a_wrong_password_exits_2_with_a_hint(sandbox):
    # No such DAG: the password is refused before the id is looked up.
    result = cli(sandbox, "dag", "show", "19999", password="wrong-Pw-0")
    assert result.returncode == 2
    assert "IncorrectOceanbasePassword" in result.stderr and "hint:" in result.stderr


@pytest.fixture
def sandbox_dir(tmp_path):
    """A folder for a sandbox the test starts; on teardown whatever still runs from it is stopped."""
    yield tmp_path
    info = tmp_path / "sandbox.json"
    if info.exists() and any(alive(pid) for pid in recorded_pids(tmp_path)):
        down_and_check(tmp_path, json.loads(info.read_text())["cluster"]["root_password"])


def test_sandbox_down_stops_every_recorded_pid(sandbox_dir):
    up = run("sandbox", "up", "--dir", str(sandbox_dir), "--base-ip", UP_DOWN_IP, "--spare", "1")
    assert up.returncode == 0, up.stdout + up.stderr
    password = json.loads((sandbox_dir / "sandbox.json").read_text())["cluster"]["root_password"]
    pids = recorded_pids(sandbox_dir)
    assert len(pids) >= 7  # 2 serves, their gunicorn masters, workers and consumers, 1 observer
    down_and_check(sandbox_dir, password)
    status = run("sandbox", "status", "--dir", str(sandbox_dir), "--json", password=password)
    assert json.loads(status.stdout)["state"] == "stopped"


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in found if alive(pid)]


def test_demo_runs_to_the_end_and_leaves_nothing(tmp_path):
    result = run("demo", "--base-ip", DEMO_IP, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "the cluster has 3 servers in 2 zones" in out
    assert "oceanbase.DBA_OB_SERVERS:" in out and "oceanbase.DBA_OB_ZONES:" in out
    assert "zone2" in out
    # two scale-outs, then two scale-ins and the removal of zone2
    assert out.count("succeeded in") == 5
    shrunk = out.index("the cluster has 1 servers in 1 zones")
    assert out.index("the cluster has 3 servers in 2 zones") < shrunk
    assert out.index("scaled back in: three servers, then one", shrunk)
    directory = out.split("starting a sandbox in ", 1)[1].split()[0]
    assert not Path(directory).exists()
    assert processes_mentioning(directory) == []


def test_demo_keep_leaves_a_usable_sandbox(sandbox_dir):
    result = run("demo", "--keep", "--dir", str(sandbox_dir), "--base-ip", KEEP_IP, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    password = json.loads((sandbox_dir / "sandbox.json").read_text())["cluster"]["root_password"]
    assert password not in result.stdout + result.stderr
    assert f"{sandbox_dir}/sandbox.json" in result.stdout and "ClientV1(" in result.stdout
    assert identity("127.0.0.76") == "CLUSTER AGENT"
