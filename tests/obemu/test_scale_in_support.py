"""DELETE SERVER's unit check, CANCEL DELETE of a server not being deleted, units and zones.

Addresses 127.0.11.x (this suite's share of the scale-in work); in-thread nodes, one cluster
per test.
"""
from __future__ import annotations

import pytest

from obemu import admin
from obemu.client import bootstrap
from tests.obemu.conftest import FAST_ENV
from tests.obemu.helpers import code_of, error_of, execute, rows, server_row, wait_until

PASSWORD = "pw"


@pytest.fixture
def cluster(fleet):
    """A bootstrapped node (zone1) plus a second one added to zone1 and a third in zone2."""
    first = fleet.observer("127.0.11.201", cluster="scalein", env=FAST_ENV)
    second = fleet.observer("127.0.11.202", cluster="scalein", zone="zone1", env=FAST_ENV)
    third = fleet.observer("127.0.11.203", cluster="scalein", zone="zone2", env=FAST_ENV)
    bootstrap(first.ip, first.mysql_port, first.rpc_port, "zone1", PASSWORD)
    conn = first.connect(password=PASSWORD)
    execute(conn, f"ALTER SYSTEM ADD SERVER '{second.addr}' ZONE 'zone1'")
    execute(conn, "ALTER SYSTEM ADD ZONE 'zone2'")
    execute(conn, "ALTER SYSTEM START ZONE 'zone2'")
    execute(conn, f"ALTER SYSTEM ADD SERVER '{third.addr}' ZONE 'zone2'")
    yield conn, first, second, third
    conn.close()


def test_bootstrap_gives_the_sys_tenant_a_unit(cluster):
    conn, first, _, _ = cluster
    assert rows(conn, "SELECT TENANT_ID, ZONE, SVR_IP, SVR_PORT FROM oceanbase.DBA_OB_UNITS") == [
        (1, "zone1", first.ip, first.rpc_port)]


def test_the_units_of_a_deleted_server_move_to_another_of_its_zone(cluster):
    conn, first, second, _ = cluster
    execute(conn, f"ALTER SYSTEM DELETE SERVER '{first.addr}'")
    assert server_row(conn, first.addr)["STATUS"] == "DELETING"
    wait_until(lambda: server_row(conn, first.addr) is None, 30)
    assert rows(conn, "SELECT SVR_IP FROM oceanbase.DBA_OB_UNITS WHERE TENANT_ID = 1") == [
        (second.ip,)]


def test_the_last_server_of_a_zone_with_units_cannot_be_deleted(cluster):
    conn, first, second, third = cluster
    admin.add_unit(first.state_path, "zone2")
    code, message = error_of(conn, f"ALTER SYSTEM DELETE SERVER '{third.addr}'")
    assert (code, message) == (4624, "machine resource 'zone2' is not enough to hold a new unit")
    assert server_row(conn, third.addr)["STATUS"] == "ACTIVE"
    # both zone1 servers at once: the sys tenant's unit would have nowhere to go
    assert code_of(conn, f"ALTER SYSTEM DELETE SERVER '{first.addr}', '{second.addr}'") == 4624
    admin.remove_units(first.state_path, "zone2")
    execute(conn, f"ALTER SYSTEM DELETE SERVER '{third.addr}' ZONE 'zone2'")
    wait_until(lambda: server_row(conn, third.addr) is None, 30)


def test_the_last_server_of_the_cluster_holds_the_sys_unit(fleet):
    only = fleet.observer("127.0.11.204", cluster="scalein1", env=FAST_ENV)
    bootstrap(only.ip, only.mysql_port, only.rpc_port, "zone1", PASSWORD)
    conn = only.connect(password=PASSWORD)
    try:
        assert code_of(conn, f"ALTER SYSTEM DELETE SERVER '{only.addr}'") == 4624
    finally:
        conn.close()


@pytest.mark.parametrize("statement, code", [
    ("ALTER SYSTEM CANCEL DELETE SERVER '{addr}'", 4629),
    ("ALTER SYSTEM DELETE SERVER '127.0.11.250:2882'", 4630),
    ("ALTER SYSTEM CANCEL DELETE SERVER '127.0.11.250:2882'", 4630),
    ("ALTER SYSTEM DELETE SERVER '{addr}' ZONE 'zone2'", 4631),
])
def test_server_refusals(cluster, statement, code):
    conn, _, second, _ = cluster
    assert code_of(conn, statement.format(addr=second.addr)) == code
    assert server_row(conn, second.addr)["STATUS"] == "ACTIVE"


def test_deleting_twice_then_cancel(fleet):
    env = {**FAST_ENV, "OBEMU_DELETE_DELAY_S": "30"}
    first = fleet.observer("127.0.11.205", cluster="scaleinslow", env=env)
    second = fleet.observer("127.0.11.206", cluster="scaleinslow", zone="zone1", env=env)
    bootstrap(first.ip, first.mysql_port, first.rpc_port, "zone1", PASSWORD)
    conn = first.connect(password=PASSWORD)
    try:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{second.addr}' ZONE 'zone1'")
        execute(conn, f"ALTER SYSTEM DELETE SERVER '{second.addr}'")
        assert code_of(conn, f"ALTER SYSTEM DELETE SERVER '{second.addr}'") == 4628
        for view in ("DBA_OB_SERVERS", "GV$OB_SERVERS"):
            assert rows(conn, f"SELECT COUNT(*) FROM oceanbase.{view} WHERE SVR_IP = %s",
                        (second.ip,)) == [(1,)]
        assert server_row(conn, second.addr)["STATUS"] == "DELETING"
        execute(conn, f"ALTER SYSTEM CANCEL DELETE SERVER '{second.addr}'")
        assert server_row(conn, second.addr)["STATUS"] == "ACTIVE"
        assert code_of(conn, f"ALTER SYSTEM CANCEL DELETE SERVER '{second.addr}'") == 4629
    finally:
        conn.close()


def test_a_zone_that_holds_units_is_neither_stopped_nor_deleted(cluster):
    conn, first, _, third = cluster
    admin.add_unit(first.state_path, "zone2")
    execute(conn, "ALTER SYSTEM ADD ZONE 'zone3'")
    admin.add_unit(first.state_path, "zone3")  # a unit of a zone without a server
    execute(conn, "ALTER SYSTEM START ZONE 'zone3'")
    assert code_of(conn, "ALTER SYSTEM STOP ZONE 'zone2'") == 4179
    assert code_of(conn, "ALTER SYSTEM STOP ZONE 'zone3'") == 4179
    admin.remove_units(first.state_path, "zone3")
    execute(conn, "ALTER SYSTEM STOP ZONE 'zone3'")
    admin.add_unit(first.state_path, "zone3")
    assert code_of(conn, "ALTER SYSTEM DELETE ZONE 'zone3'") == 4668
    admin.remove_units(first.state_path)
    execute(conn, "ALTER SYSTEM DELETE ZONE 'zone3'")
    # servers but no units: STOP ZONE is allowed (as in OceanBase), DELETE ZONE is not
    execute(conn, "ALTER SYSTEM STOP ZONE 'zone2'")
    assert code_of(conn, "ALTER SYSTEM DELETE ZONE 'zone2'") == 4668
    assert server_row(conn, third.addr) is not None


def test_unit_cli(cluster, capsys):
    from obemu.cli import main
    _, first, _, _ = cluster
    assert main(["unit", "add", "--state", str(first.state_path), "--zone", "zone2"]) == 0
    assert main(["unit", "add", "--state", str(first.state_path), "--zone", "nozone"]) == 2
    assert admin.status(first.state_path)["units"][-1]["ZONE"] == "zone2"
    assert main(["unit", "clear", "--state", str(first.state_path)]) == 0
    assert "1 unit(s) removed" in capsys.readouterr().out


def test_slow_delete_keeps_a_server_deleting(cluster):
    conn, first, second, _ = cluster
    admin.add_fault(first.state_path, second.addr, "slow_delete:30")
    execute(conn, f"ALTER SYSTEM DELETE SERVER '{second.addr}'")
    wait_until(lambda: rows(conn, "SELECT 1") == [(1,)], 5)
    import time
    time.sleep(1.0)  # well past the cluster's 0.3 s delete delay
    assert server_row(conn, second.addr)["STATUS"] == "DELETING"
    admin.clear_faults(first.state_path, second.addr, None)
    wait_until(lambda: server_row(conn, second.addr) is None, 30)
