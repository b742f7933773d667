"""Figures for obemu (§11): start time, query latency, connect+query latency, memory.

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
import time
from pathlib import Path

# This file is named like the package it measures: keep bench/ off the import path.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from obemu.client import bootstrap, connect
from obemu.testing import Fleet, observer_binary

IP = "127.0.3.1"
STARTS = 5
QUERIES = 300
CONNECTS = 60
QUERY = "SELECT * FROM oceanbase.DBA_OB_SERVERS"


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


def measure_version() -> list[float]:
    return [_run_version() for _ in range(5)]


def _run_version() -> float:
    started = time.perf_counter()
    subprocess.run([observer_binary(), "-V"], capture_output=True, check=True, timeout=10)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="obemu-bench-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "OBEMU_STATE": str(base / "bench.sqlite")}
        starts = measure_start(base, env)
        figures = measure_queries(base, {"OBEMU_STATE": str(base / "bench2.sqlite")})
        versions = measure_version()
    print(json.dumps({
        "start_s_median": round(statistics.median(starts), 3),
        "start_s_max": round(max(starts), 3),
        "query_ms_median": round(statistics.median(figures["query_ms"]), 3),
        "connect_query_ms_median": round(statistics.median(figures["connect_ms"]), 3),
        "add_server_ms": round(figures["add_ms"], 3),
        "rss_mib": round(figures["rss_mib"], 1),
        "version_s_median": round(statistics.median(versions), 3),
        "samples": {"starts": STARTS, "queries": QUERIES, "connects": CONNECTS},
    }))


if __name__ == "__main__":
    main()
