"""§10: the `obemu` admin CLI (in-thread nodes; one run through the console script)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from obemu.cli import main
from tests.obemu.conftest import FAST_ENV
from tests.obemu.helpers import execute, rows


def status_of(capsys, state) -> dict:
    capsys.readouterr()
    assert main(["status", "--state", str(state), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_console_script_bootstrap_and_status_table(fleet):
    fresh = fleet.observer("127.0.1.200", env=FAST_ENV)
    binary = shutil.which("obemu") or str(Path(sys.executable).parent / "obemu")
    state = str(fresh.state_path)
    boot = subprocess.run([binary, "bootstrap", "--state", state, "--server", fresh.addr,
                           "--zone", "zone1", "--password", "pw1"], capture_output=True,
                          text=True, timeout=30, env=dict(os.environ), check=False)
    assert boot.returncode == 0, boot.stderr
    conn = fresh.connect(password="pw1")
    try:
        assert rows(conn, "SELECT ZONE, WITH_ROOTSERVER FROM oceanbase.DBA_OB_SERVERS") == [
            ("zone1", "YES")]
    finally:
        conn.close()
    table = subprocess.run([binary, "status", "--state", state], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ), check=False)
    assert table.returncode == 0
    assert "servers:" in table.stdout and "127.0.1.200" in table.stdout
    assert "pw1" not in table.stdout


def test_status_json_counts_exactly_one_add_server(node, conn, spare, capsys):
    other = spare("127.0.1.201", zone="zone1")
    execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone1'")
    status = status_of(capsys, node.state_path)
    adds = [s for s in status["statements"] if s["sql"].startswith("ALTER SYSTEM ADD SERVER")]
    assert [(s["node"], s["code"]) for s in adds] == [(node.addr, 0)]
    assert status["bootstrapped"] is True
    assert sorted(s["SVR_IP"] for s in status["servers"]) == ["127.0.1.100", "127.0.1.201"]
    assert [p["alive"] for p in status["processes"]] == [True, True]
    assert all("s3cret" not in s["sql"] for s in status["statements"])


def test_fault_add_and_clear(fleet, capsys, tmp_path):
    state = str(tmp_path / "faults.sqlite")
    fleet.state_paths.add(Path(state))
    assert main(["fault", "add", "--state", state, "--server", "127.0.1.204:2882",
                 "sql_error:^ALTER;SYSTEM:4012"]) == 0
    assert main(["fault", "add", "--state", state, "deny_login"]) == 0
    assert main(["fault", "add", "--state", state, "nonsense"]) == 2
    faults = status_of(capsys, state)["faults"]
    assert [(f["svr_ip"], f["svr_port"], f["kind"], f["arg"]) for f in faults] == [
        ("127.0.1.204", "2882", "sql_error", "^ALTER;SYSTEM:4012"), ("*", "*", "deny_login", "")]
    assert main(["fault", "clear", "--state", state, "--kind", "deny_login"]) == 0
    assert main(["fault", "clear", "--state", state]) == 0
    assert "1 fault(s) cleared" in capsys.readouterr().out


def test_reset_refuses_while_processes_run(fleet, capsys):
    alive = fleet.observer("127.0.1.205", env=FAST_ENV)
    state = alive.state_path
    assert main(["reset", "--state", str(state)]) == 1
    assert "refusing" in capsys.readouterr().err and state.exists()
    alive.stop()
    assert main(["reset", "--state", str(state)]) == 0
    assert not state.exists()


def test_missing_state_is_an_error(tmp_path, monkeypatch):
    assert main(["status", "--state", str(tmp_path / "none.sqlite")]) == 1
    monkeypatch.delenv("OBEMU_STATE", raising=False)
    assert main(["status"]) == 2
