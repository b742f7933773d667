"""Footprint benchmark: what an idle agent costs the database host, and how fast it still hands
a stage to the next.

For each of two agents, a real `obscale serve` with default settings:

- single: a SINGLE agent on 127.0.3.60 (its DAGs in its own SQLite);
- cluster_agent: a CLUSTER AGENT on 127.0.3.61, the taken-over agent of a one-node obemu
  cluster (its cluster DAGs in OceanBase's `ocs`, its cluster executor and maintainer running);

it waits until the agent has settled (SETTLE_S after it answers), then over --seconds (60) of
wall time reports, summed over every process of the agent (`obscale serve` and its
descendants; the observer is not one of them):

- idle_cpu_pct: CPU seconds (user + system, from /proc/<pid>/stat) per wall second, x 100;
- rss_mib and pss_mib (from /proc/<pid>/smaps_rollup), at the end of the window;
- per process: role, rss_mib, pss_mib, cpu_pct.

Then it restarts the agent with the test templates (OBSCALE_TEMPLATE_MODULES; the SINGLE one
with its DAGs in its SQLite, CLUSTER_STORE=agent), runs --dags (5) no-op DAGs of 9 stages
("Test linear", tests/support/dag_templates.py) one after another through the agent's consumer
and reports stage_gap_ms_median and p99 (the time from one stage's end to the next one's
start, from the rows' own times). The idle figures are of the default settings.

--baseline REF measures the code of git revision REF the same way in the same run (a temporary
`git worktree`, this script copied into it, run with that tree first on PYTHONPATH, same venv),
before the working tree, and prints both with their ratios.

Prints one JSON object. Loopback 127.0.3.60-61 only; every process is stopped by pid and the
temporary homes removed when done.
Usage: python bench/footprint.py [--seconds 60] [--dags 5] [--baseline REF]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The same test templates and DAG runs as bench/dag_engine.py (copied beside a baseline too).
from dag_engine import TEMPLATE_ENV, _bind, _gap_figures, _run_dags  # noqa: E402

SINGLE_IP, CLUSTER_IP = "127.0.3.60", "127.0.3.61"
SETTLE_S = 10.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
GOALS = {"idle_cpu_pct": 0.2, "rss_mib": 120.0, "pss_mib": 80.0, "stage_gap_ms_median": 50.0}


# /proc readings ---------------------------------------------------------------------------

def cpu_ticks(pid: int) -> int | None:
    """utime + stime of `pid` in clock ticks, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def memory_kib(pid: int) -> tuple[int, int] | None:
    """(Rss, Pss) of `pid` in KiB from smaps_rollup, or None when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return None
    values = {}
    for line in lines:
        parts = line.split()
        if parts and parts[0] in ("Rss:", "Pss:"):
            values[parts[0]] = int(parts[1])
    return values.get("Rss:", 0), values.get("Pss:", 0)


def role(pid: int, serve_pid: int) -> str:
    """What the process is: named by its argv, or by its parent (gunicorn's web workers are
    forks of their master and keep its argv)."""
    from app.process import procfs

    argv = procfs.cmdline(pid)
    parent = procfs.parent_map().get(pid)
    if pid == serve_pid:
        return "serve" if "gunicorn" not in " ".join(argv) else "serve (supervisor)"
    if "worker" in argv:
        return "task consumer"
    if parent != serve_pid or "gunicorn" not in " ".join(argv):
        return "web worker"
    return "gunicorn master"


def agent_pids(serve_pid: int) -> list[int]:
    from app.process import procfs

    return [serve_pid, *procfs.descendants(serve_pid)]


def idle_figures(serve_pid: int, seconds: float) -> dict[str, Any]:
    """CPU over `seconds` and memory at the end, per process and summed."""
    pids = agent_pids(serve_pid)
    start = {pid: cpu_ticks(pid) for pid in pids}
    began = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - began
    processes, total_ticks, rss, pss = [], 0, 0, 0
    for pid in agent_pids(serve_pid):
        ticks, first = cpu_ticks(pid), start.get(pid)
        memory = memory_kib(pid)
        if ticks is None or memory is None:
            continue
        used = ticks - (first if first is not None else 0)
        total_ticks += used
        rss, pss = rss + memory[0], pss + memory[1]
        processes.append({"role": role(pid, serve_pid), "pid": pid,
                          "rss_mib": round(memory[0] / 1024, 1),
                          "pss_mib": round(memory[1] / 1024, 1),
                          "cpu_pct": round(used / CLK_TCK / wall * 100, 3),
                          "started_during_window": first is None})
    return {"idle_cpu_pct": round(total_ticks / CLK_TCK / wall * 100, 3),
            "rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1),
            "window_s": round(wall, 1), "processes": processes}


# DAGs -------------------------------------------------------------------------------------

def stage_gaps(home: Path, ip: str, store: str, dags: int) -> dict[str, Any]:
    """Run `dags` 9-stage no-op DAGs through the agent's consumer (as bench/dag_engine.py does);
    the gaps between stages."""
    engine = _bind(home, ip, store)
    try:
        return _gap_figures(*_run_dags(engine, dags))
    finally:
        if store == "ocs":
            engine.store.database.close()


# The two agents ---------------------------------------------------------------------------

def measure_single(base: Path, seconds: float, dags: int) -> dict[str, Any]:
    """Idle with default settings; then, restarted with the test templates, the DAGs."""
    from tests.support import agents

    home = agents.prepare_home(base / "single")
    handle = agents.start_serve(SINGLE_IP, home, workers=None)
    try:
        time.sleep(SETTLE_S)
        figures = idle_figures(handle.pid, seconds)
    finally:
        agents.stop_serve(handle, check=False)
    env = {**TEMPLATE_ENV, "OBSCALE_CLUSTER_STORE": "agent"}
    handle = agents.start_serve(SINGLE_IP, home, env=env, workers=None)
    try:
        figures.update(stage_gaps(home, SINGLE_IP, "agent", dags))
    finally:
        agents.stop_serve(handle, check=False)
    return figures


def measure_cluster_agent(base: Path, seconds: float, dags: int) -> dict[str, Any]:
    """Idle with default settings; then, its agent restarted with the test templates, the
    DAGs (cluster DAGs in the cluster store)."""
    from tests.support import agents
    from tests.support.scaleout import scale_out_setup

    with scale_out_setup(base / "cluster", CLUSTER_IP, fast=False) as setup:
        time.sleep(SETTLE_S)
        figures = idle_figures(setup.coordinator.pid, seconds)
        agents.stop_serve(setup.coordinator, check=False)
        setup.coordinator = agents.start_serve(CLUSTER_IP, setup.cluster.home,
                                               env={**setup.env, **TEMPLATE_ENV}, workers=None)
        figures.update(stage_gaps(setup.cluster.home, CLUSTER_IP, "ocs", dags))
    return figures


def measure_this_tree(seconds: float, dags: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="obscale-footprint-"))
    try:
        return {"single": measure_single(base, seconds, dags),
                "cluster_agent": measure_cluster_agent(base, seconds, dags)}
    finally:
        shutil.rmtree(base, ignore_errors=True)


def measure_baseline(ref: str, seconds: float, dags: int) -> dict[str, Any]:
    """This script, run from a worktree of `ref` with that tree first on the import path."""
    tree = Path(tempfile.mkdtemp(prefix="obscale-baseline-"))
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(tree),
                    ref], check=True)
    try:
        for script in ("footprint.py", "dag_engine.py"):  # the measuring tools of this tree
            shutil.copy(Path(__file__).with_name(script), tree / "bench" / script)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out = subprocess.run([sys.executable, str(tree / "bench" / "footprint.py"),
                              "--seconds", str(seconds), "--dags", str(dags)],
                             cwd=tree, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"baseline run failed:\n{out.stderr[-4000:]}")
        figures = json.loads(out.stdout)["current"]
        figures["revision"] = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short",
                                              "HEAD"], capture_output=True, text=True).stdout.strip()
        return figures
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                       check=False)


def headline(figures: dict[str, Any]) -> dict[str, Any]:
    return {agent: {key: figures[agent][key] for key in GOALS} for agent in
            ("single", "cluster_agent")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--dags", type=int, default=5)
    parser.add_argument("--baseline", default=None)
    args = parser.parse_args()
    started = time.monotonic()
    baseline = measure_baseline(args.baseline, args.seconds, args.dags) if args.baseline else None
    current = measure_this_tree(args.seconds, args.dags)
    result: dict[str, Any] = {"goals": GOALS, "current": current}
    if baseline is not None:
        result["baseline"] = baseline
        result["summary"] = {"current": headline(current), "baseline": headline(baseline)}
    else:
        result["summary"] = {"current": headline(current)}
    result["goals_met"] = all(current[agent][key] <= goal for agent in ("single", "cluster_agent")
                              for key, goal in GOALS.items())
    result["bench_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
