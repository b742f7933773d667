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


def _recorded_s(row: dict, later: str, earlier: str = "CREATE_TIME") -> float:
    """Seconds between two times the emulator recorded in a DBA_OB_SERVERS row."""
    return (row[later] - row[earlier]).total_seconds()


def test_never_active(conn, node, spare):
    others = both_ways(node, spare, "never_active")
    for other in others:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'")
    seen: list[list[dict]] = []
    wait_until(lambda: seen.append([server_row(conn, o.addr) for o in others]) or
               all(row["STATUS"] == "INACTIVE" for row in seen[-1]), 30, 0.02)
    assert [row["STATUS"] for row in seen[0]] == ["ACTIVE", "ACTIVE"]
    assert all(row["START_SERVICE_TIME"] is None for poll in seen for row in poll)  # never served
    for row in seen[-1]:  # INACTIVE one lease after the add, by the emulator's own clock
        assert _recorded_s(row, "LAST_OFFLINE_TIME") >= LEASE_S - 0.001


def test_slow_start(conn, node, spare):
    others = both_ways(node, spare, "slow_start:1.2")
    for other in others:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{other.addr}'")
    for other in others:
        row = wait_until(lambda: (r := server_row(conn, other.addr))["START_SERVICE_TIME"] and r,
                         30)
        assert _recorded_s(row, "START_SERVICE_TIME") >= 1.2 - 0.001


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


def _select_slow(node, read_timeout: float) -> int | None:
    """The error code of `SELECT 'SLOW'` (None when it answers)."""
    conn = node.connect(read_timeout=read_timeout)
    try:
        rows(conn, "SELECT 'SLOW'")
        return None
    except pymysql.MySQLError as error:
        return error.args[0]
    finally:
        conn.close()


def _held(other) -> bool:
    return other.runtime.node.active_statements == 1


def test_hang_holds_a_statement_without_blocking_others(node, spare):
    others = both_ways(node, spare, "hang:SLOW:60")
    codes: list = []
    workers = [threading.Thread(target=lambda o=o: codes.append(_select_slow(o, 90)))
               for o in others]
    for worker in workers:
        worker.start()
    try:
        wait_until(lambda: all(_held(other) for other in others), 30,
                   what="both statements held by the hang fault")
        for other in others:
            quick = other.connect()
            assert rows(quick, "SELECT 1") == [(1,)]
            quick.close()
        assert all(worker.is_alive() for worker in workers) and codes == []
        assert _select_slow(others[0], 0.3) == 2013  # the client gives up first
    finally:
        for other in others:
            other.stop()  # wakes the held statements: they answer 3169
        for worker in workers:
            worker.join(30)
    assert codes == [3169, 3169]


def test_hang_delays_then_answers(node, spare):
    for other in both_ways(node, spare, "hang:SLOW:0.3"):
        conn = other.connect(read_timeout=30)
        try:
            started = time.monotonic()
            assert rows(conn, "SELECT 'SLOW'") == [("SLOW",)]
            # The fault's own promise, a lower bound: a loaded machine only adds to it.
            assert time.monotonic() - started >= 0.3 - 0.001
        finally:
            conn.close()


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
            wait_until(lambda: not pid_alive(pid), 30)
            assert "observer start failed" in (home / "log" / "observer.log").read_text()


def test_crash_after(fleet):
    launches = [_launch(fleet, f"127.0.1.18{i}", "crash_after:0.5", how, True)
                for i, how in enumerate(["env", "table"])]
    for home, popen in launches:
        assert _finish(popen)[0] == 0
        pid = observer_pid(home)
        wait_until(lambda: not pid_alive(pid), 30)
        log = (home / "log" / "observer.log").read_text()
        assert "READY" in log and "crash_after" in log and "stopped" not in log
        assert observer_pid(home) == pid


def test_bad_fault_kind_is_refused_by_the_cli(node):
    with pytest.raises(ValueError):
        add_fault(node.state_path, "*", "explode")
