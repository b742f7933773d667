"""DAG engine benchmark: stage-to-stage latency with the real consumer on the cluster store
(OceanBase's `ocs`, here on obemu) and, beside it, on an agent's own SQLite; GET /dag latency.
Prints one JSON object: {"cluster_store": {...}, "agent_sqlite": {...}, "bench_s": ...}.

Both halves run 25 DAGs of the test template "Test linear" (tests/support/dag_templates.py,
9 stages, no side effects) one after another through a real `obscale serve`:

- cluster_store: an obemu cluster on 127.0.3.20 taken over by its agent (as in
  tests/support/scaleout.py), CLUSTER_STORE "ocs" (the default): the DAGs are cluster DAGs in
  ocs.obscale_*; times are the database's clock.
- agent_sqlite: a SINGLE agent on 127.0.3.21 with CLUSTER_STORE "agent" (the DAGs live in its
  SQLite); also GET latency on a near-empty database and with 10,000 finished DAGs.

Run: .venv/bin/python bench/dag_engine.py   (loopback 127.0.3.20-21 only; every process is
stopped by pid and the temporary homes removed when done).
"""
from __future__ import annotations

import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.peer.client import AgentClient  # noqa: E402
from tests.support import agents  # noqa: E402
from tests.support.dag_templates import LINEAR, template  # noqa: E402
from tests.support.scaleout import ROOT_PASSWORD, scale_out_setup  # noqa: E402

CLUSTER_IP, SQLITE_IP, PORT = "127.0.3.20", "127.0.3.21", 2886
TEMPLATE_MODULE = "tests.support.dag_templates"
TEMPLATE_ENV = {"OBSCALE_TEMPLATE_MODULES": TEMPLATE_MODULE, "PYTHONPATH": str(REPO)}
STAGES = 9
DAG_RUNS = 25
POLL_S = 0.01  # how often this process looks at a DAG; its times come from the rows
GET_SAMPLES = 300
FILLER_DAGS = 10_000
DEADLINE_S = 300.0


def _bind(home: Path, ip: str, store: str):
    """This process on the agent's files: its SQLite, key (root password) and queue; the engine
    that holds cluster DAGs (the cluster store, or the agent's SQLite)."""
    from app.config import load_config
    from app.dags import build_engines
    from app.db import init_db
    from app.security import keystore

    config = load_config({"HOME": str(home), "IP": ip, "PORT": PORT, "CLUSTER_STORE": store,
                          "TEMPLATE_MODULES": TEMPLATE_MODULE}, environ={})
    init_db(config["DATABASE"])
    keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    engine = build_engines(config).cluster
    engine.store.persistent = True  # one connection for the whole run, as a consumer keeps
    return engine


def _wait_finished(engine, dag_id: int, timeout: float = 30.0):
    model = engine.store.Dag
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.store.connection():
            dag = model.get_by_id(dag_id)
        if dag.finished:
            if dag.state != "SUCCEED":
                raise RuntimeError(f"DAG {dag_id} ended {dag.state}")
            return dag
        time.sleep(POLL_S)
    raise RuntimeError(f"DAG {dag_id} did not finish within {timeout:g} s")


def _run_dags(engine, runs: int = DAG_RUNS) -> tuple[list[float], list[float]]:
    """Run `runs` 9-stage DAGs one after another; return stage gaps (ms) and DAG times (s)."""
    store = engine.store
    gaps, totals = [], []
    for _ in range(runs):
        with store.connection():
            dag = engine.create_dag(template(LINEAR), {"stages": STAGES})
        done = _wait_finished(engine, dag.id)
        with store.connection():
            rows = list(store.SubTask.select(store.SubTask.start_time, store.SubTask.end_time)
                        .join(store.DagNode).where(store.SubTask.dag == dag.id)
                        .order_by(store.DagNode.seq).tuples())
        gaps += [(nxt[0] - prev[1]) * 1000 for prev, nxt in zip(rows, rows[1:])]
        totals.append(done.end_time - done.created_at)
    return gaps, totals


def _gap_figures(gaps: list[float], totals: list[float]) -> dict[str, Any]:
    gaps = sorted(gaps)
    return {
        "stage_gap_ms_median": round(statistics.median(gaps), 2),
        "stage_gap_ms_p99": round(gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))], 2),
        "stage_gap_ms_max": round(gaps[-1], 2),
        "dag_9_stage_s": round(statistics.median(totals), 3),
        "dag_9_stage_s_max": round(max(totals), 3),
        "stage_gaps_measured": len(gaps),
    }


def _get_latency_ms(ip: str, dag_id: int, auth: str = "") -> float:
    client = AgentClient(ip, PORT)
    path = f"/api/v1/task/dag/1{dag_id}"
    for _ in range(20):
        client.request("GET", path, auth=auth, query={"show_details": "True"})
    samples = []
    for _ in range(GET_SAMPLES):
        started = time.perf_counter()
        client.request("GET", path, auth=auth, query={"show_details": "True"})
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _fill(count: int) -> None:
    """Insert `count` finished 9-stage DAGs (with nodes, sub-tasks and one log line each) into
    the agent's SQLite."""
    from app.db import database

    now = time.time()
    with database.atomic("IMMEDIATE"):
        cursor = database.cursor()
        first_dag = _next_id(cursor, "dag")
        base = max(_next_id(cursor, "dag_node"), _next_id(cursor, "sub_task"))
        dags = range(first_dag, first_dag + count)
        cursor.executemany(
            'INSERT INTO "dag" VALUES (?, ?, \'cluster\', 9, 9, 2, \'\', \'SUCCEED\', \'RUN\', '
            '\'execute\', 0, NULL, \'{}\', \'{}\', NULL, ?, ?, ?, ?)',
            [(i, LINEAR, now, now, now, now) for i in dags])
        nodes = [(base + k * STAGES + n - 1, i, n, f"stage {n}")
                 for k, i in enumerate(dags) for n in range(1, STAGES + 1)]
        cursor.executemany('INSERT INTO "dag_node" VALUES (?, ?, ?, ?, \'SUCCEED\', \'RUN\', ?, ?)',
                           [(*node, now, now) for node in nodes])
        cursor.executemany(
            'INSERT INTO "sub_task" (id, dag_id, node_id, seq, name, state, operator, start_time, '
            'end_time, execute_times, check_seq, prepare_pending, local_data, agent_ip, '
            'agent_port, can_retry, can_rollback, can_cancel, can_pass) VALUES (?, ?, ?, 0, ?, '
            '\'SUCCEED\', \'RUN\', ?, ?, 1, 1, 0, \'{}\', ?, ?, 1, 1, 1, 0)',
            [(nid, did, nid, f"step {n}.0", now, now, SQLITE_IP, PORT)
             for nid, did, n, _ in nodes])
        cursor.executemany(
            'INSERT INTO "sub_task_log" (sub_task_id, execute_times, log_content, is_sync, '
            'create_time, update_time) VALUES (?, 1, \'done\', 1, ?, ?)',
            [(nid, now, now) for nid, *_ in nodes])
    # Fold the bulk insert into the main file, as time would on a long-lived agent.
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _next_id(cursor, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return cursor.fetchone()[0]


def _first_dag_id(engine) -> int:
    model = engine.store.Dag
    with engine.store.connection():
        return model.select(model.id).order_by(model.id).scalar()


def cluster_store_figures(base: Path) -> dict[str, Any]:
    """Stage gaps and GET latency with cluster DAGs in `ocs` on an obemu cluster."""
    with scale_out_setup(base, CLUSTER_IP, extra_env=TEMPLATE_ENV, fast=False) as setup:
        engine = _bind(setup.cluster.home, CLUSTER_IP, "ocs")
        try:
            figures = _gap_figures(*_run_dags(engine))
            figures["get_dag_ms_median"] = round(
                _get_latency_ms(CLUSTER_IP, _first_dag_id(engine), ROOT_PASSWORD), 2)
        finally:
            engine.store.database.close()
    return figures


def agent_sqlite_figures(base: Path) -> dict[str, Any]:
    """Stage gaps and GET latency (near-empty, then 10,000 DAGs) in a SINGLE agent's SQLite."""
    from app.db import connection

    home = agents.prepare_home(base / "home")
    env: Mapping[str, str] = {**TEMPLATE_ENV, "OBSCALE_CLUSTER_STORE": "agent"}
    handle = agents.start_serve(SQLITE_IP, home, env=env)
    try:
        engine = _bind(home, SQLITE_IP, "agent")
        figures = _gap_figures(*_run_dags(engine))
        probe = _first_dag_id(engine)
        figures["get_dag_ms_median_empty"] = round(_get_latency_ms(SQLITE_IP, probe), 2)
        with connection():
            _fill(FILLER_DAGS)
        figures["get_dag_ms_median_10k"] = round(_get_latency_ms(SQLITE_IP, probe), 2)
        with connection():
            figures["dags_in_database"] = engine.store.Dag.select().count()
    finally:
        agents.stop_serve(handle, check=False)
    return figures


def _out_of_time(signum, frame) -> None:
    raise TimeoutError(f"the benchmark did not finish within {DEADLINE_S:g} s")


def main() -> None:
    """Run both halves one after the other and print their JSON."""
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(DEADLINE_S))
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dag-engine-") as root:
            cluster = cluster_store_figures(Path(root) / "cluster")
            sqlite = agent_sqlite_figures(Path(root) / "sqlite")
    finally:
        signal.alarm(0)
    print(json.dumps({"cluster_store": cluster, "agent_sqlite": sqlite,
                      "bench_s": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
