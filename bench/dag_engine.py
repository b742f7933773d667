"""DAG engine benchmark: stage-to-stage latency with the real consumer, and GET /dag latency
with 10,000 finished DAGs in the database. Prints one JSON object.

Run: .venv/bin/python bench/dag_engine.py   (starts `obscale serve` on 127.0.0.28:2886 in a
temporary home, stops it by pid and removes the home when done). Also importable by the
consumer as the template module `dag_engine` (it registers the no-op template only).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IP, PORT = "127.0.0.28", 2886
STAGES = 9
DAG_RUNS = 25
GET_SAMPLES = 300
FILLER_DAGS = 10_000
DEADLINE_S = 240.0
NOOP_NAME = "Bench no-op"


def _noop(ctx) -> None:
    """A stage that does nothing."""


def noop_template():
    from app.dag.template import DagTemplate, NodeSpec, TaskSpec

    return DagTemplate(NOOP_NAME, lambda params: [
        NodeSpec(f"noop {n}", [TaskSpec(f"noop {n}", _noop)]) for n in range(1, STAGES + 1)])


class _Templates:
    """TEMPLATES, read by the agent's engines (TEMPLATE_MODULES=dag_engine), built on first use."""

    def __iter__(self):
        return iter([noop_template()])


TEMPLATES = _Templates()


def _start_serve(home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSCALE_")}
    env.update(OBSCALE_TEMPLATE_MODULES="dag_engine",
               PYTHONPATH=os.pathsep.join([str(REPO / "bench"), str(REPO)]))
    argv = [sys.executable, "-m", "app", "serve", "--home", str(home), "--ip", IP,
            "--port", str(PORT)]
    out = open(home.parent / "serve.out", "ab")
    process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    _until(lambda: _answers(process), 30, "obscale serve to answer")
    return process


def _answers(process: subprocess.Popen) -> bool:
    import requests

    if process.poll() is not None:
        raise RuntimeError(f"obscale serve exited with {process.returncode}")
    try:
        return requests.get(f"http://{IP}:{PORT}/api/v1/info", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(45)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


def _bind(home: Path):
    from app.config import load_config
    from app.dags import build_engine
    from app.db import connection, init_db
    from app.migrate import run_migrations

    config = load_config({"HOME": str(home), "IP": IP, "PORT": PORT,
                          "TEMPLATE_MODULES": "dag_engine"}, environ={})
    init_db(config["DATABASE"])
    with connection():
        run_migrations()
    return build_engine(config)


def _run_dags(engine) -> tuple[list[float], list[float]]:
    """Run DAG_RUNS no-op DAGs one after another; return stage gaps (ms) and DAG times (s)."""
    from app.dag.models import Dag, DagNode, SubTask

    gaps, totals = [], []
    for _ in range(DAG_RUNS):
        dag = engine.create_dag(noop_template(), {})
        done = _until(lambda: (d := Dag.get_by_id(dag.id)).state == "SUCCEED" and d, 30,
                      "a DAG to finish")
        rows = list(SubTask.select(SubTask.start_time, SubTask.end_time).join(DagNode)
                    .where(SubTask.dag == dag.id).order_by(DagNode.seq).tuples())
        gaps += [(nxt[0] - prev[1]) * 1000 for prev, nxt in zip(rows, rows[1:])]
        totals.append(done.end_time - done.created_at)
    return gaps, totals


def _get_latency_ms(dag_id: int) -> float:
    from app.peer.client import AgentClient

    client = AgentClient(IP, PORT)
    path = f"/api/v1/task/dag/1{dag_id}"
    for _ in range(20):
        client.request("GET", path, query={"show_details": "True"})
    samples = []
    for _ in range(GET_SAMPLES):
        started = time.perf_counter()
        client.request("GET", path, query={"show_details": "True"})
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _fill(count: int) -> None:
    """Insert `count` finished 9-stage DAGs (with nodes, sub-tasks and one log line each)."""
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
            [(i, NOOP_NAME, now, now, now, now) for i in dags])
        nodes = [(base + k * STAGES + n - 1, i, n, f"noop {n}")
                 for k, i in enumerate(dags) for n in range(1, STAGES + 1)]
        cursor.executemany('INSERT INTO "dag_node" VALUES (?, ?, ?, ?, \'SUCCEED\', \'RUN\', ?, ?)',
                           [(*node, now, now) for node in nodes])
        cursor.executemany(
            'INSERT INTO "sub_task" (id, dag_id, node_id, seq, name, state, operator, start_time, '
            'end_time, execute_times, check_seq, prepare_pending, local_data, agent_ip, '
            'agent_port, can_retry, can_rollback, can_cancel, can_pass) VALUES (?, ?, ?, 0, ?, '
            '\'SUCCEED\', \'RUN\', ?, ?, 1, 1, 0, \'{}\', ?, ?, 1, 1, 1, 0)',
            [(nid, did, nid, name, now, now, IP, PORT) for nid, did, _, name in nodes])
        cursor.executemany(
            'INSERT INTO "sub_task_log" (sub_task_id, execute_times, log_content, is_sync, '
            'create_time, update_time) VALUES (?, 1, \'done\', 1, ?, ?)',
            [(nid, now, now) for nid, *_ in nodes])


def _checkpoint() -> None:
    """Fold the bulk insert into the main file, as time would on a long-lived agent."""
    from app.db import database

    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _next_id(cursor, table: str) -> int:
    cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"')
    return cursor.fetchone()[0]


def _out_of_time(signum, frame) -> None:
    raise TimeoutError(f"the benchmark did not finish within {DEADLINE_S:g} s")


def main() -> None:
    """Run the benchmark and print its JSON."""
    sys.path[:0] = [str(REPO), str(REPO / "bench")]
    root = Path(tempfile.mkdtemp(prefix="obscale-bench-"))
    home = root / "home"
    (home / "bin").mkdir(parents=True)
    process = None
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(DEADLINE_S))
    try:
        engine = _bind(home)
        process = _start_serve(home)
        started = time.monotonic()
        gaps, totals = _run_dags(engine)
        from app.dag.models import Dag

        probe = Dag.select(Dag.id).order_by(Dag.id).scalar()
        empty_ms = _get_latency_ms(probe)
        _fill(FILLER_DAGS)
        _checkpoint()
        full_ms = _get_latency_ms(probe)
        gaps.sort()
        print(json.dumps({
            "stage_gap_ms_median": round(statistics.median(gaps), 2),
            "stage_gap_ms_p99": round(gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))], 2),
            "dag_9_stage_s": round(statistics.median(totals), 3),
            "dag_9_stage_s_max": round(max(totals), 3),
            "get_dag_ms_median_empty": round(empty_ms, 2),
            "get_dag_ms_median_10k": round(full_ms, 2),
            "stage_gaps_measured": len(gaps),
            "dags_in_database": Dag.select().count(),
            "bench_s": round(time.monotonic() - started, 1),
        }))
    finally:
        signal.alarm(0)
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
