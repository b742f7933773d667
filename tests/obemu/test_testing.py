"""§10: the fixtures other suites use (obemu.testing, obemu.pytest_fixtures)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from obemu import testing
from obemu.procutil import Launch, observer_pid, pid_alive, stop_pids
from obemu.testing import Fleet, Observer
from tests.obemu.helpers import rows, wait_until


def test_start_cluster_handle_and_teardown_of_what_the_product_launched(tmp_path):
    fleet = Fleet(tmp_path / "f", env={"OBEMU_LEASE_S": "1"})
    cluster = fleet.start_cluster("127.0.1.210", zone="za", cluster="handle", cluster_id=5,
                                  root_password="pw")
    assert (cluster.ip, cluster.mysql_port, cluster.rpc_port) == ("127.0.1.210", 2881, 2882)
    assert (cluster.cluster, cluster.cluster_id, cluster.zone) == ("handle", 5, "za")
    assert cluster.pid == observer_pid(cluster.home) and pid_alive(cluster.pid)
    shim = (cluster.home / "bin" / "observer").read_text()
    assert shim.startswith("#!/bin/sh\nexec /") and shim.endswith(' "$@"\n')
    assert (cluster.home / "lib").is_dir()
    assert cluster.env["OBEMU_STATE"] == str(cluster.state_path)
    conn = cluster.connect()
    try:
        assert rows(conn, "SELECT SVR_IP, START_SERVICE_TIME IS NOT NULL FROM "
                          "oceanbase.DBA_OB_SERVERS") == [("127.0.1.210", 1)]
    finally:
        conn.close()
    home = fleet.observer_home()
    launched = subprocess.run([str(home / "bin" / "observer"), "-I", "127.0.1.212", "-z", "za",
                               "-n", "handle", "-c", "5"], cwd=home, timeout=20,
                              env={**os.environ, **cluster.env}, capture_output=True, check=False)
    assert launched.returncode == 0
    product_pid = observer_pid(home)
    wait_until(lambda: pid_alive(product_pid))
    fleet.teardown()
    assert not pid_alive(cluster.pid) and not pid_alive(product_pid)
    assert not cluster.state_path.exists()


def test_stale_pid_file_never_signals_another_process(tmp_path):
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        fleet = Fleet(tmp_path)
        home = fleet.observer_home()
        (home / "run").mkdir()
        (home / "run" / "observer.pid").write_text(str(bystander.pid))
        fleet.teardown()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_module_level_functions(tmp_path):
    try:
        home = testing.observer_home(tmp_path / "h")
        assert os.access(home / "bin" / "observer", os.X_OK)
        cluster = testing.start_cluster("127.0.1.213", zone="zone1")
        spare = testing.start_spare("127.0.1.214", "zone1", cluster=cluster)
        conn = cluster.connect()
        try:
            rows(conn, f"ALTER SYSTEM ADD SERVER '{spare.addr}'")
        finally:
            conn.close()
        pids = [cluster.pid, spare.pid]
    finally:
        testing.teardown()
    assert not any(pid_alive(pid) for pid in pids)


def test_in_thread_observer_starts_and_stops_cleanly(tmp_path):
    node = Observer("127.0.1.215", state_path=tmp_path / "s.sqlite")
    with node:
        conn = node.connect()
        assert rows(conn, "SELECT ob_version()") == [("4.2.1.2",)]
    with pytest.raises(Exception) as caught:
        rows(conn, "SELECT 1")
    assert caught.value.args[0] in (2013, 3169)
    conn.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((node.ip, node.mysql_port), timeout=5).close()


def test_stop_pids_escalates_to_sigkill(tmp_path):
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('observer ready', flush=True); time.sleep(30)")
    stubborn = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout.readline().strip() == "observer ready"
        killed = stop_pids([stubborn.pid], [Launch(stubborn.pid, stubborn, tmp_path)], timeout=0.5)
        assert killed == [stubborn.pid] and stubborn.poll() == -9
    finally:
        stubborn.stdout.close()
