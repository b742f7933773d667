"""Benchmark: full scale-outs on loopback with obemu delays at zero and default agent settings.
The coordinator's "Cluster scale out" DAG, the cluster lock and the registry live in the cluster
store (ocs on the obemu cluster), as with every CLUSTER AGENT by default.

Prints one JSON object: scale_out_s (median POST-to-SUCCEED over --runs scale-outs, each a new
target), runs_s, stages [{name, s}] and target_stages of the median run, agent_peak_rss_mib
(every process of the busier agent: `obscale serve`, which is gunicorn's master, its web worker
and its consumer, sampled every 20 ms) and supervisor_peak_rss_mib (`obscale serve` itself). Sets up its own cluster, coordinator and
targets and tears them down. Usage: python bench/scale_out.py [--coordinator-ip 127.0.0.101] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.peer.client import AgentClient  # noqa: E402
from tests.support.agents import descendants  # noqa: E402
from tests.support.members import is_observer  # noqa: E402
from tests.support.scaleout import ROOT_PASSWORD, scale_out_setup  # noqa: E402


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def agent_processes(agent) -> list[int]:
    """`obscale serve` (gunicorn's master), its web workers and the task consumer: every
    process of the agent but the observer it launches."""
    pids = [agent.pid]
    for pid in descendants(agent.pid):
        if not is_observer(pid):
            pids.append(pid)
    return pids


class RssSampler(threading.Thread):
    """Peak RSS per agent (all its processes) and of `obscale serve`, sampled until stopped."""

    def __init__(self, agents):
        super().__init__(daemon=True)
        self.agents, self.peak, self.supervisor_peak = agents, 0.0, 0.0
        self.stop_flag = threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            for agent in self.agents:
                self.peak = max(self.peak, rss_mib(agent_processes(agent)))
                self.supervisor_peak = max(self.supervisor_peak, rss_mib([agent.pid]))
            time.sleep(0.02)


def seconds(start: str, end: str) -> float:
    return round(datetime.fromisoformat(end).timestamp() - datetime.fromisoformat(start).timestamp(), 3)


def stage_times(dag: dict) -> list[dict]:
    return [{"name": n["name"], "s": seconds(n["start_time"], n["end_time"])} for n in dag["nodes"]]


def wait_finished(client: AgentClient, path: str) -> dict:
    """Poll a DAG every 10 ms until it is SUCCEED or FAILED."""
    while True:
        dag = client.request("GET", path, auth=ROOT_PASSWORD)
        if dag["state"] in ("SUCCEED", "FAILED"):
            return dag
        time.sleep(0.01)


def one_run(client: AgentClient, ip: str) -> dict:
    body = {"agentInfo": {"ip": ip, "port": 2886}, "zone": "zone1",
            "obConfigs": {"mysql_port": "2881", "rpc_port": "2882"}}
    started = time.perf_counter()
    dag = client.request("POST", "/api/v1/ob/scale_out", body=body, auth=ROOT_PASSWORD)
    dag = wait_finished(client, f"/api/v1/task/dag/{dag['id']}")
    elapsed = time.perf_counter() - started
    if dag["state"] != "SUCCEED":
        raise SystemExit(f"scale-out failed: {json.dumps(dag)[:2000]}")
    target_client = AgentClient(ip, 2886)
    local = target_client.request("GET", "/api/v1/task/dag/maintain/agent", auth=ROOT_PASSWORD)
    target = wait_finished(target_client, f"/api/v1/task/dag/{local['id']}")
    return {"scale_out_s": round(elapsed, 3), "stages": stage_times(dag),
            "target_stages": stage_times(target)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coordinator-ip", default="127.0.0.101")
    parser.add_argument("--runs", type=int, default=3, choices=range(1, 10))
    args = parser.parse_args()
    prefix, last = args.coordinator_ip.rsplit(".", 1)
    targets = [f"{prefix}.{int(last) + n}" for n in range(1, args.runs + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-scale-out-") as base:
        with scale_out_setup(Path(base), args.coordinator_ip, fast=False) as setup:
            for ip in targets:
                setup.add_target(ip)
            sampler = RssSampler([setup.coordinator, *setup.targets.values()])
            sampler.start()
            client = AgentClient(args.coordinator_ip, 2886)
            runs = [one_run(client, ip) for ip in targets]
            sampler.stop_flag.set()
            sampler.join()
    runs.sort(key=lambda r: r["scale_out_s"])
    result = dict(runs[len(runs) // 2])
    result["runs_s"] = [r["scale_out_s"] for r in runs]
    result["agent_peak_rss_mib"] = round(sampler.peak, 1)
    result["supervisor_peak_rss_mib"] = round(sampler.supervisor_peak, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
