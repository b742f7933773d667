"""Benchmark: how long a cluster DAG stands still when the agent executing it dies.

failover_s is the time from SIGKILL of every process of the executing agent (`obscale serve`
and its descendants; not the observers) to the moment its held sub-task is claimed, and so
starts, on another member: the claim_owner of its row in ocs.obscale_sub_task names the other
agent. Median of --runs runs, each on a fresh cluster:

  A (obemu cluster, taken over) + B (scaled out into it) + a spare C; A is the maintainer.
  A "Cluster scale out" of C is posted to A and held before stage --stage (tests/support/holds.py
  hold files); A is killed, the hold removed, and B must notice (A's claim expires after
  CLUSTER_CLAIM_TTL_S, the maintainer lease after MAINTAINER_LEASE_S, both on the database's
  clock) and run the stage. The scale-out is then followed to its end through B's API.

Prints one JSON object: failover_s (median), samples_s, and per run what the cluster store
showed at the kill (lease and claim time left, database clock) and how the DAG ended.
Loopback only: run k uses 127.0.3.(30+3k) .. (32+3k). Every process is stopped by pid.
Usage: python bench/failover.py [--runs 3] [--stage 6]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.peer.client import AgentClient  # noqa: E402
from app.process import procfs  # noqa: E402
from scale_out import one_run, wait_finished  # noqa: E402
from tests.support.holds import HOLD_DIR_ENV, hold_file, reached  # noqa: E402
from tests.support.polling import wait_until  # noqa: E402
from tests.support.scaleout import ROOT_PASSWORD, scale_out_setup  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PORT = 2886
POLL_S = 0.02
GOAL_S = 10.0
FINISH_TIMEOUT_S = 180.0


def addresses(run: int) -> tuple[str, str, str]:
    """A, B and C of run `run` (0-based)."""
    first = 30 + 3 * run
    return tuple(f"127.0.3.{first + n}" for n in range(3))  # type: ignore[return-value]


def is_observer(pid: int) -> bool:
    """An observer (bin/observer, or obemu's, run by its interpreter), which the kill spares."""
    names = {Path(part).name for part in procfs.cmdline(pid)[:2]}
    return bool(names & {"observer", "obemu-observer"})


def kill_agent(pid: int) -> tuple[float, list[int]]:
    """SIGKILL `obscale serve` and every descendant that is not an observer; return the
    monotonic time of the first kill and the pids killed."""
    os.kill(pid, signal.SIGSTOP)  # no child is restarted while the tree is read
    tree = [p for p in procfs.descendants(pid) if not is_observer(p)]
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    for child in tree:
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed_at, [pid, *tree]


def held_row(conn, dag_id: int, stage: int) -> dict[str, Any]:
    """The held stage's sub-task, the lease and the database clock, read in one statement."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, s.state, s.claim_owner, s.claim_expires_at, s.agent_ip, s.start_time, "
            "l.owner, l.expires_at, UNIX_TIMESTAMP(NOW(6)) FROM ocs.obscale_sub_task s "
            "JOIN ocs.obscale_dag_node n ON n.id = s.node_id, ocs.obscale_executor_lease l "
            "WHERE s.dag_id = %s AND n.seq = %s AND l.id = 1", (dag_id, stage))
        rows = cursor.fetchall()
    keys = ("id", "state", "claim_owner", "claim_expires_at", "agent_ip", "start_time",
            "maintainer", "lease_expires_at", "db_now")
    row = dict(zip(keys, rows[0]))
    row["db_now"] = float(row["db_now"])  # a DECIMAL from the driver
    return row


def wait_claimed_by(conn, dag_id: int, stage: int, agent: str,
                    timeout: float = 60.0) -> tuple[float, dict[str, Any]]:
    """Poll the cluster store until the sub-task's claim names `agent` ("ip:port")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = held_row(conn, dag_id, stage)
        if (row["claim_owner"] or "").endswith(f"@{agent}"):
            return time.monotonic(), row
        time.sleep(POLL_S)
    raise RuntimeError(f"no member took over the held sub-task within {timeout:g} s: {row}")


def scale_out_body(ip: str) -> dict[str, Any]:
    return {"agentInfo": {"ip": ip, "port": PORT}, "zone": "zone1",
            "obConfigs": {"mysql_port": "2881", "rpc_port": "2882"}}


def one_failover(base: Path, run: int, stage: int) -> dict[str, Any]:
    """One cluster, one kill; the measured figure and what the store showed."""
    a, b, c = addresses(run)
    holds = base / "holds"
    holds.mkdir(parents=True)
    env = {"OBSCALE_TEMPLATE_MODULES": "tests.support.holds", "PYTHONPATH": str(REPO),
           HOLD_DIR_ENV: str(holds)}
    with scale_out_setup(base, a, extra_env=env, fast=False) as setup:
        setup.add_target(b)
        setup.add_target(c)
        on_a = AgentClient(a, PORT)
        one_run(on_a, b)  # B is a CLUSTER AGENT now
        hold = hold_file(holds, "cluster", stage)
        hold.touch()
        dag = on_a.request("POST", "/api/v1/ob/scale_out", body=scale_out_body(c),
                           auth=ROOT_PASSWORD)
        dag_id = int(str(dag["id"])[1:])
        wait_until(lambda: reached(hold).exists(), 120, 0.02, what="A to reach the hold")
        # One session on A's observer, which lives on: only the agent is killed.
        with contextlib.closing(setup.cluster.connect()) as store:
            before = held_row(store, dag_id, stage)
            killed_at, killed = kill_agent(setup.coordinator.pid)
            hold.unlink()
            setup.coordinator.process.wait(30)
            wait_until(lambda: not any(procfs.alive(p) for p in killed), 30, 0.02,
                       what="A's processes to be gone")
            started_at, after = wait_claimed_by(store, dag_id, stage, f"{b}:{PORT}")
        on_b = AgentClient(b, PORT)
        final = wait_until(lambda: _finished(on_b, dag["id"]), FINISH_TIMEOUT_S, 0.2,
                           what="the scale-out to end after the failover")
        local = AgentClient(c, PORT).request("GET", "/api/v1/task/dag/maintain/agent",
                                             auth=ROOT_PASSWORD)
        target = wait_finished(AgentClient(c, PORT), f"/api/v1/task/dag/{local['id']}")
        observer_alive = procfs.alive(setup.cluster.pid)
    return {
        "failover_s": round(started_at - killed_at, 3),
        "killed_pids": len(killed),
        "a_observer_alive_after_kill": observer_alive,
        "maintainer_at_kill": before["maintainer"],
        "lease_left_at_kill_s": round(before["lease_expires_at"] - before["db_now"], 3),
        "claim_left_at_kill_s": round(before["claim_expires_at"] - before["db_now"], 3),
        "claim_owner_at_kill": before["claim_owner"],
        "claim_owner_after": after["claim_owner"],
        "row_agent_ip_after": after["agent_ip"],
        "row_start_time_changed": after["start_time"] != before["start_time"],
        "maintainer_after": after["maintainer"],
        "dag_state_after": final["state"],
        "target_dag_state_after": target["state"],
    }


def _finished(client: AgentClient, generic_id: str) -> dict | None:
    dag = client.request("GET", f"/api/v1/task/dag/{generic_id}", auth=ROOT_PASSWORD)
    return dag if dag["state"] in ("SUCCEED", "FAILED") else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, choices=range(1, 10))
    parser.add_argument("--stage", type=int, default=6, choices=range(1, 10),
                        help="the Cluster scale out stage A is killed in (default 6)")
    args = parser.parse_args()
    started = time.monotonic()
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as root:
        for run in range(args.runs):
            runs.append(one_failover(Path(root) / f"run{run}", run, args.stage))
    samples = [r["failover_s"] for r in runs]
    print(json.dumps({"failover_s": round(statistics.median(samples), 3), "samples_s": samples,
                      "goal_s": GOAL_S, "held_stage": args.stage, "runs": runs,
                      "bench_s": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
