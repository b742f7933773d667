"""A `hang` past the session's ob_query_timeout: 4012 at the timeout, and an ALTER SYSTEM still
lands when the hang ends, as RootService goes on after the client's timeout (§8)."""
from __future__ import annotations

import time

from obemu.admin import add_fault
from tests.obemu.conftest import ROOT_PASSWORD
from tests.obemu.helpers import error_of, execute, rows, server_row, wait_until

TIMEOUT_US = 400_000
TIMEOUT_TEXT = (f"Timeout, query has reached the maximum query timeout: {TIMEOUT_US}(us), maybe you "
                "can adjust the session variable ob_query_timeout or query_timeout hint, and try "
                "again.")
LANDED = "late: applied (after its session answered 4012)"


def timed_session(node, timeout_us: int = TIMEOUT_US):
    """A root session with `ob_query_timeout` set as obscale sets it (with its time zone)."""
    conn = node.connect(password=ROOT_PASSWORD, read_timeout=30)
    execute(conn, f"SET time_zone = '+00:00', ob_query_timeout = {timeout_us}")
    return conn


def recorded(conn, like: str) -> list[tuple]:
    return rows(conn, "SELECT code, message FROM oceanbase.emu_statements WHERE sql LIKE %s "
                      "ORDER BY id", (like,))


def test_add_server_held_past_the_timeout_answers_4012_and_lands_later(conn, node, spare):
    other = spare("127.0.1.220", zone="zone1")
    add_fault(node.state_path, "*", "hang:^ALTER SYSTEM ADD SERVER:1.5")
    timed = timed_session(node)
    try:
        started = time.monotonic()
        error = error_of(timed, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone1'")
        answered_s = time.monotonic() - started
    finally:
        timed.close()
    assert error == (4012, TIMEOUT_TEXT)
    assert TIMEOUT_US / 1e6 - 0.001 <= answered_s < 1.5  # at the timeout, before the hang ends
    assert server_row(conn, other.addr) is None  # RootService is still at it
    wait_until(lambda: server_row(conn, other.addr) is not None, 30,
               what="the late ADD SERVER to land")
    assert server_row(conn, other.addr)["ZONE"] == "zone1"
    assert recorded(conn, "ALTER SYSTEM ADD SERVER%") == [(4012, TIMEOUT_TEXT), (0, LANDED)]


def test_a_late_statement_that_fails_records_its_error(conn, node):
    add_fault(node.state_path, "*", "hang:^ALTER SYSTEM ADD ZONE:0.8")
    timed = timed_session(node)
    try:
        assert error_of(timed, "ALTER SYSTEM ADD ZONE 'zone1'")[0] == 4012
    finally:
        timed.close()
    wait_until(lambda: len(recorded(conn, "ALTER SYSTEM ADD ZONE%")) == 2, 30,
               what="the late outcome of ADD ZONE")
    assert recorded(conn, "ALTER SYSTEM ADD ZONE%")[1] == (
        4017, "late: Entry already exist (after its session answered 4012)")


def test_a_hang_within_the_timeout_answers_normally(conn, node, spare):
    other = spare("127.0.1.221", zone="zone1")
    add_fault(node.state_path, "*", "hang:^ALTER SYSTEM ADD SERVER:0.3")
    timed = timed_session(node, timeout_us=5_000_000)
    try:
        started = time.monotonic()
        execute(timed, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone1'")
        assert time.monotonic() - started >= 0.3 - 0.001
    finally:
        timed.close()
    assert server_row(conn, other.addr)["ZONE"] == "zone1"
    assert recorded(conn, "ALTER SYSTEM ADD SERVER%") == [(0, "")]


def test_ordinary_sql_held_past_the_timeout_is_cancelled(conn, node):
    execute(conn, "CREATE DATABASE held")
    execute(conn, "CREATE TABLE held.t (a INT PRIMARY KEY)")
    add_fault(node.state_path, "*", "hang:^INSERT INTO held:0.8")
    timed = timed_session(node)
    try:
        assert error_of(timed, "INSERT INTO held.t VALUES (1)") == (4012, TIMEOUT_TEXT)
        time.sleep(1.2)  # past the hang: nothing may land
        assert rows(timed, "SELECT COUNT(*) FROM held.t") == [(0,)]
    finally:
        timed.close()


def test_the_default_timeout_is_oceanbases_10_s(node):
    fresh = node.connect(password=ROOT_PASSWORD)
    try:
        assert rows(fresh, "SELECT @@ob_query_timeout") == [(10_000_000,)]
    finally:
        fresh.close()


def test_stopping_the_node_ends_a_late_statement_without_its_effect(conn, node, spare):
    other = spare("127.0.1.222", zone="zone1")
    add_fault(node.state_path, "*", "hang:^ALTER SYSTEM ADD SERVER:30")
    timed = timed_session(node)
    try:
        assert error_of(timed, f"ALTER SYSTEM ADD SERVER '{other.addr}' ZONE 'zone1'")[0] == 4012
    finally:
        timed.close()
    assert node.runtime.node.late_statements  # the effect is still pending
    node.stop()
    reader = other.connect()  # not a member: root with an empty password
    try:
        assert server_row(reader, other.addr) is None
        assert rows(reader, "SELECT code FROM oceanbase.emu_statements WHERE sql LIKE "
                            "'ALTER SYSTEM ADD SERVER%' ORDER BY id") == [(4012,), (3169,)]
    finally:
        reader.close()
