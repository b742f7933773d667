"""§10: the `obemu` admin CLI."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from obemu.cli import main
from obemu.procutil import stop_pids
from tests.obemu.helpers import rows


def obemu(*argv: str) -> subprocess.CompletedProcess:
    binary = shutil.which("obemu") or str(Path(sys.executable).parent / "obemu")
    return subprocess.run([binary, *argv], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ), check=False)


def test_bootstrap_status_and_statement_count(fleet):
    node = fleet.start_node("127.0.1.200")
    state = str(node.state_path)
    result = obemu("bootstrap", "--state", state, "--server", node.addr, "--zone", "zone1",
                   "--password", "pw1")
    assert result.returncode == 0, result.stderr
    conn = node.connect(password="pw1")
    try:
        assert rows(conn, "SELECT ZONE, WITH_ROOTSERVER FROM oceanbase.DBA_OB_SERVERS") == [
            ("zone1", "YES")]
    finally:
        conn.close()
    status = json.loads(obemu("status", "--state", state, "--json").stdout)
    assert status["bootstrapped"] is True
    assert [s["SVR_IP"] for s in status["servers"]] == ["127.0.1.200"]
    assert [p["alive"] for p in status["processes"]] == [True]
    bootstraps = [s for s in status["statements"] if "BOOTSTRAP" in s["sql"]]
    assert len(bootstraps) == 1 and bootstraps[0]["code"] == 0
    assert all("pw1" not in s["sql"] for s in status["statements"])
    table = obemu("status", "--state", state)
    assert table.returncode == 0 and "servers:" in table.stdout and "127.0.1.200" in table.stdout


def test_exactly_one_add_server_is_visible_in_status(fleet, capsys):
    cluster = fleet.start_cluster("127.0.1.202")
    spare = fleet.start_spare("127.0.1.203", "zone1", cluster=cluster)
    conn = cluster.connect()
    try:
        rows(conn, f"ALTER SYSTEM ADD SERVER '{spare.addr}' ZONE 'zone1'")
    finally:
        conn.close()
    assert main(["status", "--state", str(cluster.state_path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    adds = [s for s in status["statements"] if s["sql"].startswith("ALTER SYSTEM ADD SERVER")]
    assert [(s["node"], s["code"]) for s in adds] == [(cluster.addr, 0)]


def test_fault_add_and_clear(fleet, capsys, tmp_path):
    state = str(tmp_path / "faults.sqlite")
    fleet.state_paths.add(Path(state))
    assert main(["fault", "add", "--state", state, "--server", "127.0.1.204:2882",
                 "sql_error:^ALTER;SYSTEM:4012"]) == 0
    assert main(["fault", "add", "--state", state, "deny_login"]) == 0
    assert main(["fault", "add", "--state", state, "nonsense"]) == 2
    capsys.readouterr()
    assert main(["status", "--state", state, "--json"]) == 0
    faults = json.loads(capsys.readouterr().out)["faults"]
    assert [(f["svr_ip"], f["svr_port"], f["kind"], f["arg"]) for f in faults] == [
        ("127.0.1.204", "2882", "sql_error", "^ALTER;SYSTEM:4012"), ("*", "*", "deny_login", "")]
    assert main(["fault", "clear", "--state", state, "--kind", "deny_login"]) == 0
    assert main(["fault", "clear", "--state", state]) == 0
    assert "1 fault(s) cleared" in capsys.readouterr().out


def test_reset_refuses_while_processes_run(fleet):
    node = fleet.start_node("127.0.1.205")
    state = str(node.state_path)
    refused = obemu("reset", "--state", state)
    assert refused.returncode == 1 and "refusing" in refused.stderr
    assert Path(state).exists()
    stop_pids([node.pid], [node.launch])
    done = obemu("reset", "--state", state)
    assert done.returncode == 0 and not Path(state).exists()


def test_missing_state_is_an_error(tmp_path):
    assert main(["status", "--state", str(tmp_path / "none.sqlite")]) == 1
