"""§3: daemonising, pid file, log, binding, data dir, and stopping.

Each observer subprocess costs about 0.3 s to start, so one node serves several checks.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading

import pymysql
import pytest

from obemu.config import write_config_bin
from obemu.procutil import observer_pid, pid_alive
from tests.obemu.helpers import rows, wait_until

LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\] [A-Z]+ ")


def test_daemon_mode_home_and_data_dir_layout(fleet, tmp_path):
    home = fleet.observer_home()
    real_store = tmp_path / "elsewhere" / "data"
    real_store.mkdir(parents=True)
    (home / "store").symlink_to(real_store)
    node = fleet.start_node("127.0.1.140", home=home, daemon=True)
    assert node.pid == observer_pid(node.home) and pid_alive(node.pid)
    assert os.getsid(node.pid) != os.getsid(0)
    assert os.readlink(f"/proc/{node.pid}/cwd") == str(node.home)
    log = (node.home / "log" / "observer.log").read_text().splitlines()
    assert all(LOG_LINE.match(line) for line in log)
    assert any(line.endswith(f"INFO READY mysql=127.0.1.140:2881 rpc=127.0.1.140:2882 "
                             f"pid={node.pid}") for line in log)
    for name in ("sstable", "clog", "slog"):
        assert (real_store / name).is_dir()
    block_file = real_store / "sstable" / "block_file"
    assert block_file.is_file() and block_file.stat().st_size == 0
    assert (home / "etc" / "observer.config.bin").is_file()
    assert {"run", "log", "etc", "bin", "lib", "store"} <= {p.name for p in home.iterdir()}


def _launch(home, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(home / "bin" / "observer"), *argv], capture_output=True,
                          text=True, timeout=20, cwd=home, check=False)


def test_foreground_binding_busy_ports_and_sigint(fleet):
    node = fleet.start_node("127.0.1.141")
    assert node.launch.popen.poll() is None and observer_pid(node.home) == node.pid
    output = node.launch.output.read_text()
    assert f"READY mysql=127.0.1.141:2881 rpc=127.0.1.141:2882 pid={node.pid}" in output
    socket.create_connection(("127.0.1.141", 2881), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.1.144", 2881), timeout=2).close()
    home = fleet.observer_home()
    for ports, busy in (((2881, 2882), 2881), ((2883, 2882), 2882)):
        result = _launch(home, "-I", "127.0.1.141", "-p", str(ports[0]), "-P", str(ports[1]))
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"[ERROR] bind 127.0.1.141:{busy} failed: address already in use")
    assert observer_pid(home) is None
    os.kill(node.pid, signal.SIGINT)
    assert node.launch.popen.wait(5) == 0
    assert observer_pid(node.home) is None


def test_devname_lo_binds_127_0_0_1(fleet):
    node = fleet.start_node("127.0.0.1", mysql_port=29881, rpc_port=29882)
    result = _launch(fleet.observer_home(), "-N", "-i", "lo", "-p", "29881", "-P", "29883")
    assert result.stderr.strip() == "[ERROR] bind 127.0.0.1:29881 failed: address already in use"
    assert node.launch.popen.poll() is None


def _hanging_query(node, results: list) -> None:
    conn = node.connect(read_timeout=20)
    try:
        rows(conn, "SELECT 'HANG_ME'")
    except pymysql.MySQLError as error:
        results.append(error.args[0])
    finally:
        conn.close()


def _holding(node) -> bool:
    log = node.home / "log" / "observer.log"
    return log.exists() and "hang fault 'HANG_ME': holding a statement" in log.read_text()


def test_sigterm_stops_and_clients_get_3169(fleet):
    node = fleet.start_node("127.0.1.146", env={"OBEMU_FAULTS": "hang:HANG_ME:30"})
    idle = node.connect()
    results: list = []
    worker = threading.Thread(target=_hanging_query, args=(node, results))
    worker.start()
    try:
        wait_until(lambda: _holding(node), 30, what="the statement held by the hang fault")
        os.kill(node.pid, signal.SIGTERM)
        assert node.launch.popen.wait(30) == 0
    finally:
        worker.join(30)
        idle.close()
    assert results == [3169]
    assert observer_pid(node.home) is None


def test_home_of_another_cluster_is_not_empty(fleet, conn, node):
    home = fleet.observer_home()
    (home / "etc").mkdir()
    write_config_bin(home, {"cluster": "elsewhere", "cluster_id": "9"})
    spare = fleet.start_spare("127.0.1.149", "zone1", home=home, cluster_id=1,
                              state_path=node.state_path)
    with pytest.raises(pymysql.MySQLError) as caught:
        rows(conn, f"ALTER SYSTEM ADD SERVER '{spare.addr}'")
    assert caught.value.args == (4179, f"add non-empty server {spare.addr} not allowed")


def _registered(state) -> str:
    try:
        conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    except sqlite3.Error:
        return ""
    try:
        return str(conn.execute("SELECT group_concat(ip) FROM emu_procs").fetchall())
    except sqlite3.Error:
        return ""
    finally:
        conn.close()


def test_start_delay_refuses_connections_until_listening(fleet):
    home = fleet.observer_home()
    state = fleet.state_path("obcluster", 1)
    env = {**os.environ, **fleet.node_env(state, {"OBEMU_START_DELAY_S": "0.6"})}
    popen = subprocess.Popen([str(home / "bin" / "observer"), "-N", "-I", "127.0.1.152"],
                             cwd=home, env=env, stdout=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: "127.0.1.152" in _registered(state), 30)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.1.152", 2881), timeout=2).close()
        assert popen.stdout.readline().startswith("READY mysql=127.0.1.152:2881")
        socket.create_connection(("127.0.1.152", 2881), timeout=2).close()
    finally:
        popen.terminate()
        popen.wait(5)
        popen.stdout.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_with_dash_6(fleet):
    node = fleet.start_node("::1", mysql_port=29991, rpc_port=29992, extra_args=["-6"])
    conn = node.connect()
    try:
        rows(conn, "ALTER SYSTEM BOOTSTRAP ZONE 'zone1' SERVER '[::1]:29992'")
        assert rows(conn, "SELECT SVR_IP, SVR_PORT FROM oceanbase.DBA_OB_SERVERS") == [
            ("::1", 29992)]
    finally:
        conn.close()
