"""§8: every fault, injected from the environment and from the emu_faults table.

Time-bound faults run both injections side by side in one test to keep the suite short.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time

import pymysql
import pytest

from obemu.admin import add_fault
from obemu.procutil import observer_pid, pid_alive
from tests.obemu.conftest import FAST_ENV
from tests.obemu.helpers import code_of, error_of, execute, rows, server_row, wait_until

LEASE_S = float(FAST_ENV["OBEMU_LEASE_S"])


def both_ways(node, spare, fault: str, zone: str = "zone1") -> list:
    """Two spares with `fault`: one from OBEMU_FAULTS (127.0.1.180), one from the table (.181)."""
    by_env = spare("127.0.1.180", zone=zone, env={**FAST_ENV, "OBEMU_FAULTS": fault})
    add_fault(node.state_path, "127.0.1.181:*", fault)
    by_table = spare("127.0.1.181", zone=zone)
    return [by_env, by_table]


def test_refuse_add_server(conn, node, spare):
    for other in both_ways(node, spare, "refuse_add_server"):
        assert error_of(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'") == (
            4179, f"add non-empty server {other.addr} not allowed")


def test_rpc_unreachable(conn, node, spare):
    for other in both_ways(node, spare, "rpc_unreachable"):
        other.connect().close()
        assert error_of(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'") == (
            4265, f"Rpc connect error ({other.addr})")


def test_never_active(conn, node, spare):
    others = both_ways(node, spare, "never_active")
    for other in others:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'")
    added = time.monotonic()
    time.sleep(0.6)
    for other in others:
        row = server_row(conn, other.addr)
        assert row["STATUS"] == "ACTIVE" and row["START_SERVICE_TIME"] is None
    for other in others:
        wait_until(lambda: server_row(conn, other.addr)["STATUS"] == "INACTIVE", LEASE_S + 2)
    assert time.monotonic() - added >= LEASE_S - 0.1


def test_slow_start(conn, node, spare):
    others = both_ways(node, spare, "slow_start:1.2")
    for other in others:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'")
    added = time.monotonic()
    for other in others:
        wait_until(lambda: server_row(conn, other.addr)["START_SERVICE_TIME"], 5)
    assert time.monotonic() - added >= 1.1


def test_sql_error(conn, node, spare):
    by_env, by_table = both_ways(node, spare, "sql_error:^ALTER SYSTEM ADD ZONE:4012")
    for other in (by_env, by_table):
        other_conn = other.connect()
        try:
            assert error_of(other_conn, "alter system add zone 'z9'") == (4012, "Timeout")
        finally:
            other_conn.close()
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_ZONES WHERE ZONE = 'z9'") == [(0,)]
    assert rows(conn, "SELECT node, code FROM oceanbase.emu_statements WHERE sql LIKE "
                      "'alter system add zone%' ORDER BY id") == [(by_env.addr, 4012),
                                                                  (by_table.addr, 4012)]
    execute(conn, "ALTER SYSTEM ADD ZONE 'z9'")


def test_sql_error_regex_with_semicolon_needs_the_table(node, conn):
    add_fault(node.state_path, "*", "sql_error:SELECT 'a;b':4017")
    assert code_of(conn, "SELECT 'a;b'") == 4017
    assert rows(conn, "SELECT 'ab'") == [("ab",)]


def _timed_select(node, read_timeout: float) -> tuple[float, int | None]:
    conn = node.connect(read_timeout=read_timeout)
    started = time.monotonic()
    try:
        rows(conn, "SELECT 'SLOW'")
        code = None
    except pymysql.MySQLError as error:
        code = error.args[0]
    finally:
        conn.close()
    return time.monotonic() - started, code


def test_hang_delays_without_blocking_others(node, spare):
    others = both_ways(node, spare, "hang:SLOW:0.8")
    results: list = []
    workers = [threading.Thread(target=lambda o=o: results.append(_timed_select(o, 5)))
               for o in others]
    for worker in workers:
        worker.start()
    time.sleep(0.2)
    for other in others:
        quick = other.connect()
        assert rows(quick, "SELECT 1") == [(1,)]
        quick.close()
    assert results == []  # both answered while the hanging statements were still waiting
    for worker in workers:
        worker.join(5)
    assert len(results) == 2 and all(took >= 0.7 and code is None for took, code in results)
    assert _timed_select(others[0], 0.3)[1] == 2013


def _launch(fleet, ip: str, fault: str, how: str, daemon: bool) -> tuple:
    state = fleet.state_path("obcluster", 1)
    env = {"OBEMU_FAULTS": fault} if how == "env" else {}
    if how == "table":
        add_fault(state, f"{ip}:2882", fault)
    home = fleet.observer_home()
    argv = [str(home / "bin" / "observer"), "-I", ip, "-p", "2881", "-P", "2882"]
    popen = subprocess.Popen(argv + ([] if daemon else ["-N"]), cwd=home, text=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env={**os.environ, **fleet.node_env(state, env)})
    return home, popen


def _finish(popen: subprocess.Popen) -> tuple[int, str]:
    _, stderr = popen.communicate(timeout=20)
    return popen.returncode, stderr


def test_crash_on_start(fleet):
    launches = [_launch(fleet, f"127.0.1.18{i}", "crash_on_start", how, daemon)
                for i, (how, daemon) in enumerate([("env", False), ("table", False),
                                                   ("env", True), ("table", True)])]
    for index, (home, popen) in enumerate(launches):
        code, stderr = _finish(popen)
        pid = observer_pid(home)
        assert pid is not None
        if index < 2:
            assert code == 134 and "[ERROR] observer start failed" in stderr
        else:
            assert code == 0
            wait_until(lambda: not pid_alive(pid), 5)
            assert "observer start failed" in (home / "log" / "observer.log").read_text()


def test_crash_after(fleet):
    launches = [_launch(fleet, f"127.0.1.18{i}", "crash_after:0.5", how, True)
                for i, how in enumerate(["env", "table"])]
    for home, popen in launches:
        assert _finish(popen)[0] == 0
        pid = observer_pid(home)
        wait_until(lambda: not pid_alive(pid), 5)
        log = (home / "log" / "observer.log").read_text()
        assert "READY" in log and "crash_after" in log and "stopped" not in log
        assert observer_pid(home) == pid


def test_bad_fault_kind_is_refused_by_the_cli(node):
    with pytest.raises(ValueError):
        add_fault(node.state_path, "*", "explode")
