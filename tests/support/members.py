"""Two CLUSTER AGENTs of one cluster, for tests of the cluster store (spec/cluster-store.md).

    with two_members(tmp_path, "127.0.4.1", "127.0.4.2") as pair:
        dag = scale_out(client_of(pair.a_ip), pair.add_spare("127.0.4.3").ip)
        wait_dag(client_of(pair.b_ip), dag.generic_id)

Member A took the cluster over; member B joined it by a scale-out through the SDK. Each agent
(spares too) loads the hold-point templates with a hold folder of its own, so a hold file stops
only the agent it is meant for. Processes are signalled by pid only, never by name.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from app.process.procfs import cmdline
from tests.support.agents import AgentHandle, alive, descendants, start_serve
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, ScaleOutSetup, hold_env, scale_out_setup

PORTS = {"mysql_port": "2881", "rpc_port": "2882"}
DAG_TIMEOUT_S = 120.0




def client_of(ip: str) -> ClientV1:
    """The unmodified obshell SDK on the agent at `ip`:2886."""
    return ClientV1(ip, 2886, PasswordAuth(ROOT_PASSWORD))


@dataclass
class Members:
    """A cluster with members A (the first agent) and B, plus the spares a test adds."""

    setup: ScaleOutSetup
    base_dir: Path
    a_ip: str
    b_ip: str
    holds: dict[str, Path] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)  # pids a test froze (SIGCONT at teardown)

    @property
    def a(self) -> AgentHandle:
        return self.setup.coordinator

    @property
    def b(self) -> AgentHandle:
        return self.setup.targets[self.b_ip]

    def hold_dir(self, ip: str) -> Path:
        """The hold folder of the agent at `ip` (created on first use)."""
        if ip not in self.holds:
            self.holds[ip] = self.base_dir / f"holds-{ip}"
            self.holds[ip].mkdir(parents=True, exist_ok=True)
        return self.holds[ip]

    def add_spare(self, ip: str) -> AgentHandle:
        """A SINGLE agent on `ip`, with a hold folder of its own."""
        return self.setup.add_target(ip, hold_env(self.hold_dir(ip)))

    def restart_a(self) -> AgentHandle:
        """`obscale serve` for A again, with its home and environment (after it was killed)."""
        old = self.a
        if old.process.poll() is None:
            raise AssertionError(f"A (pid {old.pid}) is still running")
        self.setup.coordinator = start_serve(self.a_ip, old.home, env=self.agent_env(self.a_ip))
        return self.setup.coordinator

    def agent_env(self, ip: str) -> dict[str, str]:
        return {**self.setup.env, **hold_env(self.hold_dir(ip))}

    def release_holds(self) -> None:
        """Remove every hold file, so that no consumer stays blocked."""
        for folder in self.holds.values():
            for path in folder.iterdir():
                path.unlink(missing_ok=True)

    def resume_stopped(self) -> None:
        """SIGCONT every process a test froze."""
        signal_pids(sorted(self.stopped), signal.SIGCONT)
        self.stopped.clear()

    # The cluster store, read by SQL through the cluster (root@sys) --------------------------

    def dag_row(self, dag_id: int) -> dict[str, Any]:
        """The `ocs.obscale_dag` row of a cluster DAG, with its context parsed."""
        rows = self.setup.sql("SELECT state, stage, context FROM ocs.obscale_dag WHERE id = %s",
                              (dag_id,))
        assert rows, f"no ocs.obscale_dag row {dag_id}"
        state, stage, context = rows[0]
        return {"state": state, "stage": stage, "context": json.loads(context)}

    def sub_task_row(self, dag_id: int, stage: int) -> dict[str, Any]:
        """The (first) sub-task of stage `stage` of a cluster DAG."""
        rows = self.setup.sql(
            "SELECT t.id, t.state, t.agent_ip, t.claim_owner, t.execute_times FROM "
            "ocs.obscale_sub_task t JOIN ocs.obscale_dag_node n ON t.node_id = n.id "
            "WHERE n.dag_id = %s AND n.seq = %s ORDER BY t.seq", (dag_id, stage))
        assert rows, f"no sub-task for stage {stage} of DAG {dag_id}"
        keys = ("id", "state", "agent_ip", "claim_owner", "execute_times")
        return dict(zip(keys, rows[0]))

    def log_rows(self, dag_id: int) -> list[tuple]:
        """(id, sub_task_id, log_content) of every sub-task log line of a cluster DAG."""
        return self.setup.sql(
            "SELECT l.id, l.sub_task_id, l.log_content FROM ocs.obscale_sub_task_log l JOIN "
            "ocs.obscale_sub_task t ON l.sub_task_id = t.id WHERE t.dag_id = %s ORDER BY l.id",
            (dag_id,))

    def add_server_successes(self, ip: str) -> list[str]:
        """The observers (ip:rpc_port) through which an ADD SERVER of `ip` succeeded (code 0),
        from obemu's statement log."""
        conn = sqlite3.connect(str(self.setup.cluster.state_path))
        try:
            rows = conn.execute("SELECT node FROM emu_statements WHERE sql LIKE ? AND code = 0 "
                                "ORDER BY id", (f"%ADD SERVER '{ip}:2882'%",)).fetchall()
        finally:
            conn.close()
        return [node for node, in rows]


def scale_out(client: ClientV1, ip: str, zone: str = "zone1"):
    """POST /api/v1/ob/scale_out for the agent at `ip` through the SDK; the created DAG."""
    return client.scale_out(ip, 2886, zone, dict(PORTS))


def wait_dag(client: ClientV1, generic_id: str, states: Iterable[str] = ("SUCCEED",),
             timeout: float = DAG_TIMEOUT_S, what: str = ""):
    """Poll the DAG through `client` until its state is one of `states`; fail early on FAILED."""
    wanted = tuple(states)

    def reached():
        dag = client.get_dag(generic_id, show_detail=False)
        if dag.state == "FAILED" and "FAILED" not in wanted:
            detail = client.get_dag(generic_id)
            raise AssertionError(f"DAG {generic_id} FAILED at stage {dag.stage}: "
                                 f"{_failure_logs(detail)}")
        return dag if dag.state in wanted else None

    return wait_until(reached, timeout, 0.1, what=what or f"DAG {generic_id} {'/'.join(wanted)}")


def _failure_logs(dag) -> str:
    lines = []
    for node in dag.nodes or []:
        for sub_task in node.sub_tasks or []:
            if sub_task.state == "FAILED":
                lines.append(f"{node.name}: {(sub_task.task_logs or [''])[-1]}")
    return "; ".join(lines)


def is_observer(pid: int) -> bool:
    """True for an (emulated) observer process: `<home>/bin/observer` or `obemu-observer`."""
    return any(Path(arg).name in ("observer", "obemu-observer") for arg in cmdline(pid)[:2])


def agent_tree(handle: AgentHandle) -> list[int]:
    """`obscale serve` and every live process below it, without observer processes (an
    observer the agent launched may be its descendant; it is a cluster member, not the agent)."""
    pids = [handle.pid, *descendants(handle.pid)]
    return [pid for pid in pids if alive(pid) and not is_observer(pid)]


def signal_pids(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def freeze_tree(handle: AgentHandle) -> list[int]:
    """SIGSTOP the agent's whole tree until no new process appears below it; the pids."""
    frozen: list[int] = []
    while True:
        fresh = [pid for pid in agent_tree(handle) if pid not in frozen]
        if not fresh:
            return frozen
        signal_pids(fresh, signal.SIGSTOP)
        frozen += fresh


def kill_tree(handle: AgentHandle) -> list[int]:
    """SIGKILL every process of the agent (frozen first, so nothing forks or restarts a child
    meanwhile); waits until all are gone and reaps `obscale serve`. Observers are spared."""
    victims = freeze_tree(handle)
    signal_pids(victims, signal.SIGKILL)
    handle.process.wait(30)
    wait_until(lambda: not any(alive(pid) for pid in victims), 30,
               what=f"agent {handle.ip} processes {victims} gone")
    return victims


@contextlib.contextmanager
def two_members(base_dir: Path, a_ip: str, b_ip: str) -> Iterator[Members]:
    """A cluster on A; B scaled into zone1 through A's SDK, SUCCEED. Teardown resumes stopped
    processes, removes hold files and stops every agent and observer by pid."""
    base_dir.mkdir(parents=True, exist_ok=True)
    a_holds = base_dir / f"holds-{a_ip}"
    a_holds.mkdir(exist_ok=True)
    with scale_out_setup(base_dir / "cluster", a_ip, hold_env(a_holds)) as setup:
        pair = Members(setup, base_dir, a_ip, b_ip, {a_ip: a_holds})
        try:
            pair.add_spare(b_ip)
            wait_dag(client_of(a_ip), scale_out(client_of(a_ip), b_ip).generic_id)
            yield pair
        finally:
            pair.resume_stopped()
            pair.release_holds()
