"""§3: daemonising, pid file, log, binding, data dir, and stopping."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time

import pymysql
import pytest

from obemu.admin import add_fault
from obemu.procutil import observer_pid, pid_alive
from tests.obemu.helpers import rows, wait_until

LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\] [A-Z]+ ")


def test_daemon_mode(fleet):
    node = fleet.start_node("127.0.1.140", daemon=True)
    assert node.pid == observer_pid(node.home) and pid_alive(node.pid)
    assert os.getsid(node.pid) != os.getsid(0)
    assert os.readlink(f"/proc/{node.pid}/cwd") == str(node.home)
    log = (node.home / "log" / "observer.log").read_text().splitlines()
    assert all(LOG_LINE.match(line) for line in log)
    assert any(line.endswith(f"INFO READY mysql=127.0.1.140:2881 rpc=127.0.1.140:2882 "
                             f"pid={node.pid}") for line in log)


def test_foreground_mode_prints_ready(fleet):
    node = fleet.start_node("127.0.1.141")
    assert node.launch.popen is not None and node.launch.popen.poll() is None
    assert observer_pid(node.home) == node.pid
    output = node.launch.output.read_text()
    assert f"READY mysql=127.0.1.141:2881 rpc=127.0.1.141:2882 pid={node.pid}" in output


@pytest.mark.parametrize("ports", [(2881, 2882), (2883, 2882)])
def test_busy_port_exits_non_zero(fleet, ports):
    fleet.start_node("127.0.1.142")
    home = fleet.observer_home()
    result = subprocess.run(
        [str(home / "bin" / "observer"), "-I", "127.0.1.142", "-p", str(ports[0]),
         "-P", str(ports[1])], capture_output=True, text=True, timeout=20, cwd=home, check=False)
    busy = ports[0] if ports[0] == 2881 else ports[1]
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"[ERROR] bind 127.0.1.142:{busy} failed: address already in use")
    assert observer_pid(home) is None


def test_binding_follows_local_ip(fleet):
    fleet.start_node("127.0.1.143")
    socket.create_connection(("127.0.1.143", 2881), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.1.144", 2881), timeout=2).close()


def test_devname_lo_binds_127_0_0_1(fleet):
    home = fleet.observer_home()
    node = fleet.start_node("127.0.0.1", home=home, mysql_port=29881, rpc_port=29882)
    assert node.launch is not None
    # the same flags but -i lo instead of -I: a second start must find 127.0.0.1 busy
    result = subprocess.run([str(home / "bin" / "observer"), "-N", "-i", "lo", "-p", "29881",
                             "-P", "29883"], capture_output=True, text=True, timeout=20,
                            cwd=fleet.observer_home(), check=False)
    assert result.stderr.strip() == "[ERROR] bind 127.0.0.1:29881 failed: address already in use"


def test_data_dir_layout_follows_symlinks(fleet, tmp_path):
    home = fleet.observer_home()
    real_store = tmp_path / "elsewhere" / "data"
    real_store.mkdir(parents=True)
    (home / "store").symlink_to(real_store)
    fleet.start_node("127.0.1.145", home=home)
    for name in ("sstable", "clog", "slog"):
        assert (real_store / name).is_dir()
    block_file = real_store / "sstable" / "block_file"
    assert block_file.is_file() and block_file.stat().st_size == 0
    assert (home / "etc" / "observer.config.bin").is_file()
    assert {"run", "log", "etc", "bin", "lib"} <= {p.name for p in home.iterdir()}


def _hanging_query(node, results: list) -> None:
    conn = node.connect(read_timeout=20)
    try:
        rows(conn, "SELECT 'HANG_ME'")
    except pymysql.MySQLError as error:
        results.append(error.args[0])
    finally:
        conn.close()


def test_sigterm_stops_within_2s_and_clients_get_3169(fleet):
    node = fleet.start_node("127.0.1.146", env={"OBEMU_FAULTS": "hang:HANG_ME:30"})
    idle = node.connect()
    results: list = []
    worker = threading.Thread(target=_hanging_query, args=(node, results))
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    os.kill(node.pid, signal.SIGTERM)
    assert node.launch.popen.wait(5) == 0
    assert time.monotonic() - started < 2.0
    worker.join(5)
    idle.close()
    assert results == [3169]
    assert observer_pid(node.home) is None


def test_sigkill_leaves_the_pid_file(fleet):
    node = fleet.start_node("127.0.1.147", daemon=True)
    os.kill(node.pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(node.pid))
    assert observer_pid(node.home) == node.pid


def test_home_of_another_cluster_is_not_empty(fleet):
    cluster = fleet.start_cluster("127.0.1.148", zone="zone1")
    foreign = fleet.start_node("127.0.1.149", cluster="elsewhere", cluster_id=9,
                               state_path=fleet.base_dir / "elsewhere.sqlite")
    assert stop_and_wait(foreign.pid)
    spare = fleet.start_spare("127.0.1.149", "zone1", cluster=cluster, home=foreign.home)
    conn = cluster.connect()
    try:
        with pytest.raises(pymysql.MySQLError) as caught:
            rows(conn, f"ALTER SYSTEM ADD SERVER '{spare.addr}'")
        assert caught.value.args == (4179, f"add non-empty server {spare.addr} not allowed")
    finally:
        conn.close()


def stop_and_wait(pid: int) -> bool:
    os.kill(pid, signal.SIGTERM)
    return bool(wait_until(lambda: not pid_alive(pid)))


def test_crash_on_start_from_table_under_nodaemon(fleet):
    state = fleet.state_path("obcluster", 1)
    add_fault(state, "127.0.1.150:2882", "crash_on_start")
    home = fleet.observer_home()
    result = subprocess.run(
        [str(home / "bin" / "observer"), "-N", "-I", "127.0.1.150", "-p", "2881", "-P", "2882"],
        capture_output=True, text=True, timeout=20, cwd=home, check=False,
        env={**os.environ, **fleet.node_env(state, None)})
    assert result.returncode == 134
    assert "[ERROR] observer start failed" in result.stderr
    assert observer_pid(home) is not None
