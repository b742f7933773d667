"""Figures for obemu (§11): start time, query latency, connect+query latency, memory, and how
fast a node stops, is seen gone, and answers -V (the timing goals the tests do not assert).

Prints one JSON object. Loopback only (127.0.3.x), bounded loops, cleans up after itself.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# This file is named like the package it measures: keep bench/ off the import path.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from obemu.client import bootstrap, connect
from obemu.inthread import Observer
from obemu.testing import Fleet, observer_binary

IP = "127.0.3.1"
STARTS = 5
QUERIES = 300
CONNECTS = 60
QUERY = "SELECT * FROM oceanbase.DBA_OB_SERVERS"
LEASE_S = 1.0


def _spawn_ready(home: Path, env: dict) -> tuple[float, subprocess.Popen]:
    started = time.perf_counter()
    popen = subprocess.Popen([observer_binary(), "-N", "-I", IP, "-p", "2881", "-P", "2882"],
                             cwd=home, env=env, stdout=subprocess.PIPE, text=True)
    line = popen.stdout.readline()
    elapsed = time.perf_counter() - started
    if not line.startswith("READY"):
        raise RuntimeError(f"observer did not start: {line!r}")
    return elapsed, popen


def _stop(popen: subprocess.Popen) -> None:
    popen.send_signal(signal.SIGTERM)
    popen.wait(10)
    popen.stdout.close()


def measure_start(base: Path, env: dict) -> list[float]:
    """Subprocess spawn -> READY, STARTS times in one home."""
    home = base / "start-home"
    home.mkdir()
    times = []
    for _ in range(STARTS):
        elapsed, popen = _spawn_ready(home, env)
        times.append(elapsed)
        _stop(popen)
    return times


def _timed(action, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _connect_query_close() -> None:
    conn = connect(IP, 2881, password="pw")
    with conn.cursor() as cursor:
        cursor.execute(QUERY)
        cursor.fetchall()
    conn.close()


def measure_queries(base: Path, env: dict) -> dict:
    """Latencies against one bootstrapped node, its RSS, and one ADD SERVER."""
    fleet = Fleet(base / "fleet", env=env)
    try:
        node = fleet.start_node(IP)
        bootstrap(IP, 2881, 2882, "zone1", "pw")
        conn = connect(IP, 2881, password="pw")
        cursor = conn.cursor()
        query_ms = _timed(lambda: (cursor.execute(QUERY), cursor.fetchall()), QUERIES)
        connect_ms = _timed(_connect_query_close, CONNECTS)
        spare = fleet.start_spare("127.0.3.2", "zone1", cluster=node)
        add_ms = _timed(lambda: cursor.execute(f"ALTER SYSTEM ADD SERVER '{spare.addr}'"), 1)
        cursor.close()
        conn.close()
        rss_kib = int(next(line.split()[1] for line in
                           Path(f"/proc/{node.pid}/status").read_text().splitlines()
                           if line.startswith("VmRSS:")))
    finally:
        fleet.teardown()
    return {"query_ms": query_ms, "connect_ms": connect_ms, "add_ms": add_ms[0],
            "rss_mib": rss_kib / 1024}


STORE_ROUNDS = 300
CONTENDED_ROUNDS = 100
STORE_DDL = ("CREATE TABLE sub_task (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(32) NOT NULL,"
             " claim_owner VARCHAR(64), updated_at DOUBLE NOT NULL)")


def measure_store(base: Path) -> dict:
    """The cluster store's statements on ordinary tables, through two observers of a cluster:
    point read, insert, compare-and-set update, a FOR UPDATE transaction, and contended
    compare-and-sets from both observers at once."""
    fleet = Fleet(base / "store-fleet")
    try:
        cluster = fleet.start_cluster("127.0.3.7", root_password="pw")
        spare = fleet.start_spare("127.0.3.8", "zone1", cluster=cluster)
        first = connect(cluster.ip, cluster.mysql_port, password="pw")
        cursor = first.cursor()
        cursor.execute(f"ALTER SYSTEM ADD SERVER '{spare.addr}'")
        conns = [first, connect(spare.ip, spare.mysql_port, password="pw")]
        cursor.execute("CREATE DATABASE ocs")
        for conn in conns:
            conn.select_db("ocs")
        cursor.execute(STORE_DDL)
        insert_ms = _timed(lambda: cursor.execute(
            "INSERT INTO sub_task (state, updated_at) VALUES ('PENDING', UNIX_TIMESTAMP(NOW(6)))"),
            STORE_ROUNDS)
        select_ms = _timed(lambda: (cursor.execute("SELECT * FROM sub_task WHERE id = 7"),
                                    cursor.fetchall()), STORE_ROUNDS)
        flips = iter(range(STORE_ROUNDS))
        update_ms = _timed(lambda: cursor.execute(
            "UPDATE sub_task SET claim_owner = %s WHERE id = 7 AND state = 'PENDING'",
            (f"owner{next(flips)}",)), STORE_ROUNDS)
        txn_ms = _timed(lambda: _locked_update(conns[0]), STORE_ROUNDS)
        contended = _contended_claims(conns)
        for conn in conns:
            conn.close()
    finally:
        fleet.teardown()
    return {"store_insert_ms_median": insert_ms, "store_select_ms_median": select_ms,
            "store_cas_update_ms_median": update_ms, "store_for_update_txn_ms_median": txn_ms,
            **contended}


def _locked_update(conn) -> None:
    with conn.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT state FROM sub_task WHERE id = 8 FOR UPDATE")
        cursor.execute("UPDATE sub_task SET updated_at = UNIX_TIMESTAMP(NOW(6)) WHERE id = 8")
        cursor.execute("COMMIT")


def _contended_claims(conns) -> dict:
    """Both observers race to claim the same fresh row, CONTENDED_ROUNDS times: each round
    must have exactly one winner."""
    barrier = threading.Barrier(len(conns))
    wins = [0] * len(conns)
    setup = conns[0].cursor()

    def race(index: int) -> None:
        with conns[index].cursor() as cursor:
            for round_id in range(CONTENDED_ROUNDS):
                barrier.wait()
                wins[index] += cursor.execute(
                    "UPDATE sub_task SET state = 'RUNNING', claim_owner = %s "
                    "WHERE id = %s AND state = 'PENDING'", (f"observer{index}", 100 + round_id))
    setup.execute("UPDATE sub_task SET state = 'PENDING' WHERE id BETWEEN 100 AND %s",
                  (100 + CONTENDED_ROUNDS,))
    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(conns))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.perf_counter() - started
    if sum(wins) != CONTENDED_ROUNDS:
        raise RuntimeError(f"contended claims: {wins} winners for {CONTENDED_ROUNDS} rows")
    return {"store_contended_claims_per_s": round(CONTENDED_ROUNDS / elapsed, 1),
            "store_contended_winners": wins}


def measure_version() -> list[float]:
    return [_run_version() for _ in range(5)]


def _run_version() -> float:
    started = time.perf_counter()
    subprocess.run([observer_binary(), "-V"], capture_output=True, check=True, timeout=10)
    return time.perf_counter() - started


def measure_in_thread(base: Path) -> tuple[list[float], list[float]]:
    """In-thread Observer: start() until it listens, and stop(), STARTS times."""
    import obemu.runtime  # noqa: F401  (the one-off import of mysql-mimic is not start-up)
    starts, stops = [], []
    for index in range(STARTS):
        node = Observer("127.0.3.3", state_path=base / f"in-thread-{index}.sqlite")
        started = time.perf_counter()
        node.start()
        starts.append(time.perf_counter() - started)
        node.connect().close()
        stopped = time.perf_counter()
        node.stop()
        stops.append(time.perf_counter() - stopped)
    return starts, stops


def _hold_statement(node) -> None:
    conn = node.connect(read_timeout=60)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 'HANG_ME'")
    except Exception:  # noqa: BLE001 - 3169 is the expected answer; only the stop is measured
        pass
    finally:
        conn.close()


def _log_says(node, text: str) -> bool:
    log = node.home / "log" / "observer.log"
    return log.exists() and text in log.read_text()


def _poll(predicate, timeout: float = 30.0) -> float:
    """Poll until predicate() holds; return when it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError("condition not met in time")
        time.sleep(0.005)
    return time.perf_counter()


def measure_stop_and_lease(base: Path) -> dict:
    """SIGTERM to exit while a statement is held; SIGKILL to INACTIVE (lease LEASE_S)."""
    fleet = Fleet(base / "stops", env={"OBEMU_LEASE_S": str(LEASE_S)})
    try:
        held = fleet.start_node("127.0.3.4", env={"OBEMU_FAULTS": "hang:HANG_ME:30"})
        holder = threading.Thread(target=_hold_statement, args=(held,))
        holder.start()
        _poll(lambda: _log_says(held, "holding a statement"))
        started = time.perf_counter()
        os.kill(held.pid, signal.SIGTERM)
        held.launch.popen.wait(30)
        sigterm_s = time.perf_counter() - started
        holder.join(30)
        cluster = fleet.start_cluster("127.0.3.5", root_password="pw")
        spare = fleet.start_spare("127.0.3.6", "zone1", cluster=cluster, daemon=True)
        conn = cluster.connect()
        try:
            inactive_s = _kill_until_inactive(conn, spare)
        finally:
            conn.close()
    finally:
        fleet.teardown()
    return {"sigterm_s": sigterm_s, "inactive_s": inactive_s}


def _kill_until_inactive(conn, spare) -> float:
    def status() -> tuple:
        with conn.cursor() as cursor:
            cursor.execute("SELECT STATUS, START_SERVICE_TIME IS NOT NULL FROM "
                           f"oceanbase.DBA_OB_SERVERS WHERE SVR_IP = '{spare.ip}'")
            return cursor.fetchone()
    with conn.cursor() as cursor:
        cursor.execute(f"ALTER SYSTEM ADD SERVER '{spare.addr}'")
    _poll(lambda: status() == ("ACTIVE", 1))
    killed = time.perf_counter()
    os.kill(spare.pid, signal.SIGKILL)
    return _poll(lambda: status()[0] == "INACTIVE") - killed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="obemu-bench-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "OBEMU_STATE": str(base / "bench.sqlite")}
        starts = measure_start(base, env)
        figures = measure_queries(base, {"OBEMU_STATE": str(base / "bench2.sqlite")})
        versions = measure_version()
        in_thread_starts, in_thread_stops = measure_in_thread(base)
        stops = measure_stop_and_lease(base)
        store = measure_store(base)
    print(json.dumps({
        "start_s_median": round(statistics.median(starts), 3),
        "start_s_max": round(max(starts), 3),
        "query_ms_median": round(statistics.median(figures["query_ms"]), 3),
        "connect_query_ms_median": round(statistics.median(figures["connect_ms"]), 3),
        "add_server_ms": round(figures["add_ms"], 3),
        "rss_mib": round(figures["rss_mib"], 1),
        "version_s_median": round(statistics.median(versions), 3),
        "in_thread_start_s_max": round(max(in_thread_starts), 3),
        "in_thread_stop_s_max": round(max(in_thread_stops), 3),
        "sigterm_with_held_statement_s": round(stops["sigterm_s"], 3),
        "sigkill_to_inactive_s": round(stops["inactive_s"], 3),
        "lease_s": LEASE_S,
        **{key: round(statistics.median(value), 3) if isinstance(value, list) and key.endswith(
            "_median") else value for key, value in store.items()},
        "samples": {"starts": STARTS, "queries": QUERIES, "connects": CONNECTS,
                    "store": STORE_ROUNDS, "contended": CONTENDED_ROUNDS},
    }))


if __name__ == "__main__":
    main()
