"""§7: heartbeat, lease, serving, restart, DELETE / CANCEL DELETE, STOP / START SERVER."""
from __future__ import annotations

import os
import signal
import subprocess

from obemu.procutil import observer_pid
from tests.obemu.conftest import FAST_ENV
from tests.obemu.helpers import execute, rows, server_row, wait_until


def _add(conn, addr: str, zone: str = "zone1") -> None:
    execute(conn, f"ALTER SYSTEM ADD SERVER '{addr}' ZONE '{zone}'")


def test_added_server_is_active_then_serving(node, conn, spare):
    other = spare("127.0.1.160", zone="zone1")
    _add(conn, other.addr)
    row = server_row(conn, other.addr)
    assert row["STATUS"] == "ACTIVE" and row["START_SERVICE_TIME"] is None
    serving = wait_until(lambda: server_row(conn, other.addr)["START_SERVICE_TIME"], 30)
    assert serving >= row["CREATE_TIME"]


def test_crash_inactive_restart_serving_and_the_other_node_keeps_serving(fleet):
    first = fleet.start_cluster("127.0.1.161")
    second = fleet.start_spare("127.0.1.162", "zone1", cluster=first, daemon=True,
                               extra_args=["-o", "memory_limit=5G"])
    conn = first.connect()
    try:
        _add(conn, second.addr)
        wait_until(lambda: server_row(conn, second.addr)["START_SERVICE_TIME"], 30)
        os.kill(second.pid, signal.SIGKILL)
        assert observer_pid(second.home) == second.pid  # SIGKILL leaves the pid file
        wait_until(lambda: server_row(conn, second.addr)["STATUS"] == "INACTIVE", 30)
        row = server_row(conn, second.addr)
        assert row["START_SERVICE_TIME"] is None and row["LAST_OFFLINE_TIME"] is not None
        assert server_row(conn, first.addr)["START_SERVICE_TIME"] is not None
        restart = subprocess.run([str(second.home / "bin" / "observer"), "-p", "2881"],
                                 cwd=second.home, env={**os.environ, **second.env},
                                 capture_output=True, timeout=20, check=False)
        assert restart.returncode == 0 and observer_pid(second.home) != second.pid
        wait_until(lambda: server_row(conn, second.addr)["STATUS"] == "ACTIVE", 30)
        wait_until(lambda: server_row(conn, second.addr)["START_SERVICE_TIME"], 30)
        # the restart took every other flag and -o key from etc/observer.config.bin
        assert rows(conn, "SELECT SVR_PORT, ZONE, VALUE FROM oceanbase.GV$OB_PARAMETERS WHERE "
                          "SVR_IP = %s AND NAME = 'memory_limit'", (second.ip,)) == [
            (2882, "zone1", "5G")]
    finally:
        conn.close()


def test_clean_stop_expires_the_lease(node, conn, spare):
    other = spare("127.0.1.164", zone="zone1")
    _add(conn, other.addr)
    other.stop()
    wait_until(lambda: server_row(conn, other.addr)["STATUS"] == "INACTIVE", 30)
    assert server_row(conn, node.addr)["STATUS"] == "ACTIVE"


def test_delete_server_then_row_disappears(node, conn, spare):
    other = spare("127.0.1.165", zone="zone1")
    _add(conn, other.addr)
    execute(conn, f"ALTER SYSTEM DELETE SERVER '{other.addr}' ZONE 'zone1'")
    assert server_row(conn, other.addr)["STATUS"] == "DELETING"
    wait_until(lambda: server_row(conn, other.addr) is None, 30)
    assert rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS") == [(1,)]
    # no longer a member: the node accepts root with an empty password again
    other.connect().close()


def test_cancel_delete_puts_the_row_back(fleet):
    env = {**FAST_ENV, "OBEMU_DELETE_DELAY_S": "30"}
    first = fleet.observer("127.0.1.166", cluster="slowdelete", env=env)
    second = fleet.observer("127.0.1.167", cluster="slowdelete", env=env)
    from obemu.client import bootstrap
    bootstrap(first.ip, first.mysql_port, first.rpc_port, "zone1", "pw")
    conn = first.connect(password="pw")
    try:
        _add(conn, second.addr)
        execute(conn, f"ALTER SYSTEM DELETE SERVER '{second.addr}'")
        assert server_row(conn, second.addr)["STATUS"] == "DELETING"
        assert rows(conn, "SELECT 1") == [(1,)]
        execute(conn, f"ALTER SYSTEM CANCEL DELETE SERVER '{second.addr}'")
        assert server_row(conn, second.addr)["STATUS"] == "ACTIVE"
    finally:
        conn.close()


def test_stop_and_start_server(node, conn, spare):
    other = spare("127.0.1.168", zone="zone1")
    _add(conn, other.addr)
    execute(conn, f"ALTER SYSTEM STOP SERVER '{other.addr}'")
    row = server_row(conn, other.addr)
    assert row["STATUS"] == "ACTIVE" and row["STOP_TIME"] is not None
    execute(conn, f"ALTER SYSTEM START SERVER '{other.addr}'")
    assert server_row(conn, other.addr)["STOP_TIME"] is None


def test_happy_path_into_a_new_zone(fleet):
    """BOOTSTRAP, ADD ZONE, START ZONE, a daemonised node via the shim, ADD SERVER, serving."""
    cluster = fleet.start_cluster("127.0.1.169", zone="zone1")
    conn = cluster.connect()
    try:
        execute(conn, "ALTER SYSTEM ADD ZONE 'zone2' REGION 'sys_region'")
        execute(conn, "ALTER SYSTEM START ZONE 'zone2'")
        target = fleet.start_spare("127.0.1.159", "zone2", cluster=cluster, daemon=True)
        execute(conn, f"ALTER SYSTEM ADD SERVER '{target.addr}' ZONE 'zone2'")
        assert server_row(conn, target.addr)["START_SERVICE_TIME"] is None
        wait_until(lambda: server_row(conn, target.addr)["START_SERVICE_TIME"], 30)
        assert rows(conn, "SELECT SVR_IP, ZONE FROM oceanbase.GV$OB_SERVERS ORDER BY SVR_IP") == [
            ("127.0.1.159", "zone2"), ("127.0.1.169", "zone1")]
        assert rows(conn, "SELECT COUNT(*) FROM oceanbase.emu_statements WHERE sql LIKE "
                          "'ALTER SYSTEM ADD SERVER%'") == [(1,)]
    finally:
        conn.close()


def test_later_nodes_use_the_recorded_lease(node, spare):
    other = spare("127.0.1.158", env={"OBEMU_LEASE_S": "30", "OBEMU_DELETE_DELAY_S": "9"})
    assert (other.runtime.node.lease_s, other.runtime.node.delete_delay_s) == (1.0, 0.3)
