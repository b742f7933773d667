"""The two ways out of a failed scale-out, for tests/integration/test_way_out_matrix.py.

A `Case` is one scale-out of one spare target into the module's shared cluster: it reads both
DAGs (the coordinator's through the obshell SDK, the target's through its own agent), waits for
them to fail, operates on one of them and checks where both ended. `Case.cleanup()` gives the
shared cluster back as it was: the target's agent and observer stopped by pid and, when the case
joined it, its server, registry row and zone removed by SQL.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import requests
from obshell import ClientV1
from obshell.auth.password import PasswordAuth

from app.ob import observer
from tests.support import v2
from tests.support.agents import AgentHandle, alive, start_serve, stop_serve
from tests.support.polling import wait_until
from tests.support.scaleout import ROOT_PASSWORD, Faults, ScaleOutSetup

# Long enough for any stage of a healthy scale-out on a busy 2-core machine; a case that goes
# wrong reports the DAGs' last logs when it runs out.
SETTLE_S = 90.0


@dataclass(frozen=True)
class ClusterState:
    """What a rolled-back scale-out must leave as it found it."""

    servers: tuple
    zones: tuple
    registry: tuple


class Stopper:
    """Stops agents in the background: `obscale serve` may take seconds to stop gracefully, and
    nothing of a finished case waits for that. `join()` waits for all of them."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stop-agent")
        self.pending: list = []

    def stop(self, handle: AgentHandle) -> None:
        """SIGTERM `obscale serve` (by pid) now; wait for it (and its children) later."""
        if handle.process.poll() is None:
            os.kill(handle.pid, signal.SIGTERM)
        self.pending.append(self.pool.submit(stop_serve, handle, False))

    def join(self) -> None:
        for future in self.pending:
            future.result()
        self.pool.shutdown()


def cluster_state(setup: ScaleOutSetup) -> ClusterState:
    """DBA_OB_SERVERS, DBA_OB_ZONES and the registry, read as root@sys through the cluster.

    The reads are worded unlike every statement of the product, so that an `sql_error` fault
    aimed at one of the product's statements never hits them."""
    servers = setup.sql("SELECT SVR_IP, SVR_PORT, ZONE, SQL_PORT, STATUS, START_SERVICE_TIME, "
                        "STOP_TIME FROM oceanbase.DBA_OB_SERVERS ORDER BY SVR_IP, SVR_PORT")
    zones = setup.sql("SELECT ZONE, STATUS, REGION, IDC FROM oceanbase.DBA_OB_ZONES ORDER BY ZONE")
    registry = setup.sql("SELECT ip, port FROM ocs.obscale_cluster_agent ORDER BY ip, port")
    return ClusterState(tuple(map(tuple, servers)), tuple(map(tuple, zones)),
                        tuple(map(tuple, registry)))


def add_server_codes(setup: ScaleOutSetup, ip: str) -> list[int]:
    """The result code of every ADD SERVER of ip:2882 that obemu recorded (late effects too)."""
    conn = sqlite3.connect(str(setup.cluster.state_path))
    try:
        rows = conn.execute("SELECT code FROM emu_statements WHERE sql LIKE ? ORDER BY id",
                            (f"%ADD SERVER '{ip}:2882'%",)).fetchall()
    finally:
        conn.close()
    return [code for code, in rows]


def dag_logs(dag: dict | None) -> str:
    """'<node>: <last log line>' of every node that logged, for assertion messages."""
    if not dag:
        return "no DAG"
    lines = []
    for node in dag.get("nodes") or []:
        for task in node.get("sub_tasks") or []:
            if task.get("task_logs"):
                lines.append(f"[{node.get('state')}/{node.get('operator')}] {node.get('name')}: "
                             f"{task['task_logs'][-1]}")
    return f"{dag.get('state')}/{dag.get('operator')} at stage {dag.get('stage')}: " + \
        " | ".join(lines)


def observer_pid(home: Path) -> int | None:
    """The live observer started from `home`, if any."""
    return observer.live_observer_pid(str(home))


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL when it outlives `timeout`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), 10, what=f"pid {pid} gone")


@dataclass
class Case:
    """One scale-out of the spare agent at `ip` into `zone` of the shared cluster."""

    setup: ScaleOutSetup
    client: ClientV1
    faults: Faults
    holds: Path
    stopper: "Stopper"
    ip: str
    zone: str
    configs: dict[str, str] = field(default_factory=lambda: {"mysql_port": "2881",
                                                             "rpc_port": "2882"})
    dag_id: str = ""
    target_dag_id: str = ""
    stopped: bool = False  # the case stopped the target's agent and has not started it again

    @property
    def agent(self) -> AgentHandle:
        return self.setup.targets[self.ip]

    @property
    def home(self) -> Path:
        return self.agent.home

    @property
    def coordinator_server(self) -> str:
        return f"{self.setup.cluster.ip}:{self.setup.cluster.rpc_port}"

    @property
    def target_server(self) -> str:
        return f"{self.ip}:2882"

    # The two DAGs ------------------------------------------------------------------------

    def start(self) -> None:
        """POST the scale-out through the SDK."""
        self.dag_id = self.client.scale_out(self.ip, 2886, self.zone, dict(self.configs)).generic_id

    def cluster_dag(self) -> dict:
        resp = v2.send(self.setup.coordinator.base_url, "GET",
                       f"/api/v1/task/dag/{self.dag_id}?show_details=true", auth=ROOT_PASSWORD)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def target_dag(self) -> dict | None:
        """The target's maintenance DAG (its lock holder or last one); None when it never had
        one, or while the case keeps its agent stopped."""
        if self.stopped:
            return None
        resp = v2.send(self.agent.base_url, "GET",
                       "/api/v1/task/dag/maintain/agent?show_details=true", auth=ROOT_PASSWORD)
        if resp.status_code == 404:
            return None
        assert resp.status_code == 200, resp.text
        dag = resp.json()["data"]
        self.target_dag_id = str(dag["id"])
        return dag

    def target_client(self) -> ClientV1:
        return ClientV1(self.ip, 2886, PasswordAuth(ROOT_PASSWORD))

    def identity(self) -> str:
        info = requests.get(self.agent.base_url + "/api/v1/info", timeout=10).json()
        return info["data"]["identity"]

    def home_entries(self) -> list[str]:
        """What the target's home holds (bin/, lib/ and the agent's own obscale/ at first)."""
        return sorted(os.listdir(self.home))

    def describe(self) -> str:
        """Both DAGs' states and last logs, for assertion messages."""
        try:
            target = dag_logs(self.target_dag())
        except (requests.RequestException, AssertionError) as exc:
            target = f"unreadable ({exc})"
        return f"\ncoordinator DAG {self.dag_id}: {dag_logs(self.cluster_dag())}" \
               f"\ntarget DAG: {target}"

    def settle(self, done: Callable[[dict, dict | None], bool], what: str,
               timeout: float = SETTLE_S) -> tuple[dict, dict | None]:
        """Poll both DAGs until done(cluster, target); both as last read."""
        seen: list[tuple[dict, dict | None]] = []

        def check():
            seen[:] = [(self.cluster_dag(), self.target_dag())]
            return done(*seen[0])

        try:
            wait_until(check, timeout, 0.1, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}{self.describe()}") from None
        return seen[0]

    def operate(self, dag: str, operator: str) -> None:
        """Send RETRY or ROLLBACK to the coordinator's DAG ("cluster") or the target's ("local")."""
        if dag == "cluster":
            self.client.operate_dag(self.dag_id, operator)
        else:
            self.target_client().operate_dag(self.target_dag_id, operator)

    # Holds, and the target's agent ----------------------------------------------------------

    def hold(self, name: str) -> Path:
        """Create the hold file `name` (e.g. 'local-stage-3.after'); see tests/support/holds.py."""
        path = self.holds / name
        path.touch()
        return path

    def stop_target_agent(self) -> None:
        stop_serve(self.agent, check=False)
        self.stopped = True

    def start_target_agent(self) -> None:
        """`obscale serve` for the target again, on its home and with its environment."""
        self.setup.targets[self.ip] = start_serve(self.ip, self.home, env=self.setup.env)
        self.stopped = False

    # Giving the shared cluster back -----------------------------------------------------------

    def cleanup(self, new_zone: bool) -> None:
        """Whatever the case left: holds released, faults cleared, both locks freed, the target's
        observer and agent stopped by pid, its server, registry row and (new) zone removed."""
        for path in self.holds.iterdir():
            path.unlink(missing_ok=True)
        self.faults.clear_all()
        try:
            if self.stopped:
                self.start_target_agent()
            free_cluster_lock(self.client)
        finally:
            pid = observer_pid(self.home)
            if pid is not None:
                stop_pid(pid)
            self.stopper.stop(self.setup.targets.pop(self.ip))
            self._leave_cluster(new_zone)

    def _leave_cluster(self, new_zone: bool) -> None:
        sql = self.setup.sql
        row = sql("SELECT ZONE, STATUS FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s "
                  "AND SVR_PORT = 2882", (self.ip,))
        if row and row[0][1] != "DELETING":
            sql("ALTER SYSTEM DELETE SERVER %s ZONE %s", (self.target_server, row[0][0]))
        wait_until(lambda: not sql("SELECT 1 FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s",
                                   (self.ip,)), 30, 0.1, what=f"server {self.ip} deleted")
        sql("DELETE FROM ocs.obscale_cluster_agent WHERE ip = %s AND port = 2886", (self.ip,))
        status = sql("SELECT STATUS FROM oceanbase.DBA_OB_ZONES WHERE ZONE = %s", (self.zone,))
        if new_zone and status:
            if status[0][0] == "ACTIVE":
                sql("ALTER SYSTEM STOP ZONE %s", (self.zone,))
            sql("ALTER SYSTEM DELETE ZONE %s", (self.zone,))


def free_cluster_lock(client: ClientV1, timeout: float = SETTLE_S) -> None:
    """Until no cluster DAG is unfinished: CANCEL running ones, ROLLBACK failed ones, and leave
    a rollback under way alone (a CANCEL would interrupt it)."""
    from obshell.service.client_v1 import OBShellHandleError

    def settled() -> bool:
        unfinished = client.get_cluster_unfinished_dag(show_detail=False)
        for dag in unfinished:
            operator = "ROLLBACK" if dag.state == "FAILED" else None
            if operator is None and dag.operator not in ("ROLLBACK", "CANCEL"):
                operator = "CANCEL"
            if operator:
                with contextlib.suppress(OBShellHandleError):
                    client.operate_dag(dag.generic_id, operator)
        return not unfinished

    wait_until(settled, timeout, 0.2, what="no unfinished cluster DAG")


def ended(dag: dict | None, state: str, operator: str | None = None) -> bool:
    """The DAG ended in `state` (and with `operator`, when given)."""
    return dag is not None and dag.get("state") == state and (
        operator is None or dag.get("operator") == operator)


def failed_at(dag: dict | None, stage: int) -> bool:
    return ended(dag, "FAILED") and int(dag["stage"]) == stage


def failure_text(dag: dict | None) -> str:
    """Every log line of the DAG's FAILED nodes."""
    lines: list[str] = []
    for node in (dag or {}).get("nodes") or []:
        if node.get("state") == "FAILED":
            for task in node.get("sub_tasks") or []:
                lines += task.get("task_logs") or []
    return "\n".join(lines)


def reruns(dag: dict, more_than: int = 1) -> list[str]:
    """The stages of a DAG whose sub-task ran more than `more_than` times (only an operator's
    RETRY may start another execution)."""
    return [f"'{node.get('name')}' ({task.get('execute_times')} executions)"
            for node in dag.get("nodes") or [] for task in node.get("sub_tasks") or []
            if int(task.get("execute_times") or 0) > more_than]


def snapshot_dag(dag: dict | None) -> dict[str, Any] | None:
    """State, operator and stage of a DAG, for compact assertions."""
    if dag is None:
        return None
    return {"state": dag.get("state"), "operator": dag.get("operator"), "stage": dag.get("stage")}
