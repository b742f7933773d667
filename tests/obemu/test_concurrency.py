"""§5: two nodes writing at once, and clusters that must not see each other."""
from __future__ import annotations

import os
import subprocess
import threading

import pymysql

from obemu.config import state_path_for
from tests.obemu.helpers import code_of, execute, rows, wait_until

STATEMENTS_PER_NODE = 40


def _churn(node, password: str, prefix: str, failures: list) -> None:
    conn = node.connect(password=password)
    try:
        for index in range(STATEMENTS_PER_NODE):
            zone = f"{prefix}{index % 5}"
            for sql in (f"ALTER SYSTEM ADD ZONE '{zone}'", f"ALTER SYSTEM START ZONE '{zone}'",
                        "ALTER SYSTEM SET syslog_level = 'INFO'",
                        f"ALTER SYSTEM STOP ZONE '{zone}'", f"ALTER SYSTEM DELETE ZONE '{zone}'"):
                code = code_of(conn, sql)
                if code not in (None, 4017, 4530, 4633):
                    failures.append((sql, code))
            rows(conn, "SELECT COUNT(*) FROM oceanbase.DBA_OB_SERVERS")
    except pymysql.MySQLError as error:
        failures.append(("connection", error.args))
    finally:
        conn.close()


def test_two_processes_alter_at_once_without_lock_errors(fleet):
    first = fleet.start_cluster("127.0.1.190")
    second = fleet.start_spare("127.0.1.191", "zone1", cluster=first)
    conn = first.connect()
    execute(conn, f"ALTER SYSTEM ADD SERVER '{second.addr}'")
    conn.close()
    failures: list = []
    workers = [threading.Thread(target=_churn, args=(first, first.root_password, "a", failures)),
               threading.Thread(target=_churn, args=(second, first.root_password, "b", failures))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert failures == []
    logs = [(n.home / "log" / "observer.log").read_text() for n in (first, second)]
    assert not any("locked" in log for log in logs)
    conn = second.connect(password=first.root_password)
    try:
        assert rows(conn, "SELECT COUNT(*) FROM oceanbase.emu_statements WHERE sql LIKE "
                          "'ALTER SYSTEM SET%' AND code = 0") == [(2 * STATEMENTS_PER_NODE,)]
    finally:
        conn.close()


def _nodes_seen(node) -> list[tuple]:
    conn = node.connect()
    try:
        return rows(conn, "SELECT SVR_IP FROM oceanbase.DBA_OB_SERVERS ORDER BY SVR_IP")
    finally:
        conn.close()


def test_clusters_with_another_name_or_id_do_not_see_each_other(fleet, tmp_path):
    derived = {"OBEMU_HOME": str(tmp_path / "derived")}
    nodes = []
    for ip, name, cluster_id in (("127.0.1.192", "c1", 1), ("127.0.1.193", "c2", 1),
                                 ("127.0.1.194", "c1", 2)):
        node = fleet.observer(ip, cluster=name, cluster_id=cluster_id,
                              state_path=state_path_for(name, cluster_id, derived))
        nodes.append(node)
        conn = node.connect()
        execute(conn, f"ALTER SYSTEM BOOTSTRAP ZONE 'zone1' SERVER '{node.addr}'")
        conn.close()
    for node in nodes:
        assert _nodes_seen(node) == [(node.ip,)]
    assert sorted(p.name for p in (tmp_path / "derived").glob("*.sqlite")) == [
        "c1-1.sqlite", "c1-1.tables.sqlite", "c1-2.sqlite", "c1-2.tables.sqlite",
        "c2-1.sqlite", "c2-1.tables.sqlite"]


def test_state_path_is_derived_from_name_and_id_when_obemu_state_is_unset(fleet, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBEMU_")}
    env["OBEMU_HOME"] = str(tmp_path / "h")
    home = fleet.observer_home()
    result = subprocess.run([str(home / "bin" / "observer"), "-I", "127.0.1.195", "-n", "x",
                             "-c", "42"], cwd=home, env=env, capture_output=True, timeout=20,
                            check=False)
    assert result.returncode == 0
    fleet.state_paths.add(tmp_path / "h" / "x-42.sqlite")
    wait_until(lambda: (tmp_path / "h" / "x-42.sqlite").exists(), 30)
