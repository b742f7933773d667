"""The way-out matrix: a scale-out that failed at any stage of either DAG leaves by both ways.

For each stage of the coordinator's "Cluster scale out" (9 stages into an existing zone) and of
the target's "Local scale out" (7 stages), a failure is injected there, and each row runs twice:

- ROLLBACK, sent to the DAG the row names while the cause stays in place, ends SUCCEED/ROLLBACK
  on both sides with the cluster exactly as before (DBA_OB_SERVERS, DBA_OB_ZONES, the registry),
  the target SINGLE, its observer stopped, its home as before and both locks free.
- RETRY, sent to the same DAG once the cause is removed, ends SUCCEED on both sides with the
  target serving and exactly one ADD SERVER of it that succeeded.

Some stages fail only through the other DAG: the coordinator's "Wait ..." stages when the
target's matching stage fails or outlasts the coordinator's budget, the target's gates and its
watch when the coordinator's DAG has failed. One cause then fails a stage of each DAG, and the
row names both. The operators go to the DAG in the last column (C: the coordinator's, T: the
target's). Before any operator, the coordinator's DAG must not have run a stage twice.

| row | coordinator (9 stages) | target (7 stages) | how it fails | to |
|-----|-----------------------|-------------------|--------------|----|
| C1 | 1 Integrate server config | no DAG | `sql_error` on V$OB_PARAMETERS | C |
| C2 | 2 Create local scale out dag | no DAG | target agent stopped (RPC budget) | C |
| T1 | 3 Wait scale out ready | 1 Be scaling agent | data_dir under a regular file | T |
| C3 | 3 Wait scale out ready | 2 Start preparations | target's stage 1 too slow | C |
| T3 | 4 Wait remote deploy finish | 3 Create observer workdir | store filled meanwhile | T |
| C4 | 4 Wait remote deploy finish | 4 Start preparations | target's stage 3 too slow | C |
| T5 | 5 Wait remote start finish | 5 Start observer | `crash_on_start` | T |
| C6 | 6 Prev check for scale_out | 6 Watch cluster ... dag | `sql_error` on its SELECT | C |
| T6 | 7 Add server for scale_out | 6 Watch cluster ... dag | `refuse_add_server` | T |
| C8 | 8 Add agent for scale_out | 6 Watch cluster ... dag | `sql_error` on the INSERT | C |
| C9 | 9 Check ... whether finished | 7 Sync from observer (waits) | `never_active` | C |
| T7 | 9 Check ... whether finished | 7 Sync from observer | `sql_error` on its login | T |

The new-zone variant (11 stages) is covered only for the two stages it adds and for the ADD
SERVER after them, whose rollback must undo both zone statements:

| row | coordinator (11 stages) | target (7 stages) | how it fails | to |
|-----|------------------------|-------------------|--------------|----|
| Z7 | 7 Add new zone for scale_out | 6 Watch cluster ... dag | `sql_error` on ADD ZONE | C |
| Z8 | 8 Start new zone for scale_out | 6 Watch cluster ... dag | `sql_error` on START ZONE | C |
| Z9 | 9 Add server for scale_out | 6 Watch cluster ... dag | `refuse_add_server` | C |

"Too slow": a hold outlasts the coordinator's short budget. Hold files (tests/support/holds.py)
pin the moment a cause strikes and are never a failure themselves: C2 holds the coordinator
before its stage 2 while the target's agent stops; C3 and C4 hold the target after its stage's
work until the coordinator's wait ran out; T3 holds the target before its workdir while the
store fills. T7 has no hold: the coordinator's last stage fails with the target's own reason,
and no DAG runs a stage again without an operator (no RETRY goes back and forth between them).

One cluster and coordinator serve the whole module (budgets short, BUDGETS); every case has its
own spare target on 127.0.9.x and gives the cluster back as it found it
(tests/support/way_out.py).
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import Callable

import pytest

from tests.support.holds import reached
from tests.support.members import hold_env
from tests.support.polling import wait_until
from tests.support.scaleout import Faults, scale_out_setup
from app.ob import observer
from tests.support.agents import alive
from tests.support.way_out import (Case, ClusterState, Stopper, add_server_codes, cluster_state,
                                   ended, failed_at, failure_text, free_cluster_lock, reruns,
                                   snapshot_dag)

pytestmark = pytest.mark.integration
COORDINATOR = "127.0.9.1"
# Short budgets, with the relations between them that the agents insist on.
BUDGETS = {"OBSCALE_SCALE_OUT_RPC_TIMEOUT_S": "4",
           "OBSCALE_SCALE_OUT_READY_TIMEOUT_S": "5",
           "OBSCALE_SCALE_OUT_DEPLOY_TIMEOUT_S": "5",
           "OBSCALE_OBSERVER_START_TIMEOUT_S": "20",
           "OBSCALE_SCALE_OUT_SERVING_TIMEOUT_S": "5",
           "OBSCALE_SCALE_OUT_SQL_TIMEOUT_S": "6",
           "OBSCALE_SCALE_OUT_DELETE_SERVER_TIMEOUT_S": "6"}
HOLD_S = 60.0


def _nothing(case: Case) -> None:
    """No step here."""


@dataclass(frozen=True)
class Row:
    """One row of the matrix: where both DAGs fail, how, and where the operators go."""

    cluster_stage: int                 # the coordinator's DAG is FAILED there
    target: tuple[int, str] | None     # the target's DAG then: (stage, state); None: no DAG
    operate: str                       # "cluster" or "local"
    log: str                           # in the log of the failed stage of the operated DAG
    ips: tuple[str, str]               # the spare targets of the ROLLBACK and the RETRY case
    inject: Callable[[Case], None] = _nothing    # before the POST
    provoke: Callable[[Case], None] = _nothing   # after the POST, until the cause has struck
    remove: Callable[[Case], None] = _nothing    # before RETRY
    on_rollback: Callable[[Case], None] = _nothing  # after ROLLBACK was sent
    new_zone: bool = False
    left_in_store: tuple[str, ...] = ()  # what the test put into <home>/store (not the agent)


def escaped(ip: str) -> str:
    return re.escape(ip)


def coordinator_sql_error(pattern: Callable[[Case], str]) -> Callable[[Case], None]:
    """An `sql_error` (4016, not transient) for the statements of the coordinator's observer
    that match pattern(case)."""
    return lambda case: case.faults.add(case.coordinator_server, f"sql_error:{pattern(case)}:4016")


def target_fault(fault: str) -> Callable[[Case], None]:
    return lambda case: case.faults.add(case.target_server, fault)


def clear_coordinator_faults(case: Case) -> None:
    case.faults.clear(case.coordinator_server)


def clear_target_faults(case: Case) -> None:
    case.faults.clear(case.target_server)


def held(case: Case, name: str):
    path = case.holds / name
    wait_until(reached(path).exists, HOLD_S, what=f"held at {name}")
    return path


# C2: the coordinator is held before its stage 2; meanwhile the target's agent stops.
def hold_before_rpc(case: Case) -> None:
    case.hold("cluster-stage-2")


def stop_target_at_rpc(case: Case) -> None:
    path = held(case, "cluster-stage-2")
    case.stop_target_agent()
    path.unlink()


def start_target_again(case: Case) -> None:
    case.start_target_agent()


# T1: data_dir lies under a regular file, so no directory can be created there.
def data_dir_under_a_file(case: Case) -> None:
    blocker = case.home.parent / f"blocker-{case.ip}"
    blocker.write_text("a regular file where a directory is needed\n")
    case.configs["data_dir"] = str(blocker / "data")


def remove_blocker(case: Case) -> None:
    (case.home.parent / f"blocker-{case.ip}").unlink()


# C3 / C4: the target's stage is held after its work until the coordinator's wait runs out.
def outlast(hold_name: str, cluster_stage: int) -> tuple[Callable, Callable]:
    def inject(case: Case) -> None:
        case.hold(hold_name)

    def provoke(case: Case) -> None:
        path = held(case, hold_name)
        case.settle(lambda c, t: failed_at(c, cluster_stage),
                    f"the coordinator's stage {cluster_stage} timed out")
        path.unlink()
    return inject, provoke


# T3: after the precheck passed, something fills the store directory.
def hold_before_workdir(case: Case) -> None:
    case.hold("local-stage-3")


def fill_store(case: Case) -> None:
    path = held(case, "local-stage-3")
    (case.home / "store").mkdir()
    (case.home / "store" / "intruder").write_text("not the agent's\n")
    path.unlink()


def empty_store(case: Case) -> None:
    shutil.rmtree(case.home / "store")


READY_INJECT, READY_PROVOKE = outlast("local-stage-1.after", 3)
DEPLOY_INJECT, DEPLOY_PROVOKE = outlast("local-stage-3.after", 4)
# T7: the target's login to its observer fails; the coordinator's last stage fails with that
# reason instead of retrying the target on its own.
def login_refused(case: Case) -> None:
    case.faults.add(case.target_server, "sql_error:^SET time_zone:4016")


ROWS: dict[str, Row] = {
    "C1": Row(1, None, "cluster", "MySQL error 4016", ("127.0.9.10", "127.0.9.11"),
              inject=coordinator_sql_error(lambda c: r"V\$OB_PARAMETERS WHERE NAME = 'cluster'"),
              remove=clear_coordinator_faults),
    "C2": Row(2, None, "cluster", "unreachable", ("127.0.9.12", "127.0.9.13"),
              inject=hold_before_rpc, provoke=stop_target_at_rpc, remove=start_target_again,
              on_rollback=start_target_again),
    "T1": Row(3, (1, "FAILED"), "local", "precheck failed: dir_empty:data_dir",
              ("127.0.9.14", "127.0.9.15"), inject=data_dir_under_a_file, remove=remove_blocker),
    "C3": Row(3, (2, "FAILED"), "cluster", "timed out", ("127.0.9.16", "127.0.9.17"),
              inject=READY_INJECT, provoke=READY_PROVOKE),
    "T3": Row(4, (3, "FAILED"), "local", "Common.DirNotEmpty", ("127.0.9.18", "127.0.9.19"),
              inject=hold_before_workdir, provoke=fill_store, remove=empty_store,
              left_in_store=("intruder",)),
    "C4": Row(4, (4, "FAILED"), "cluster", "timed out", ("127.0.9.20", "127.0.9.21"),
              inject=DEPLOY_INJECT, provoke=DEPLOY_PROVOKE),
    "T5": Row(5, (5, "FAILED"), "local", "observer start failed", ("127.0.9.22", "127.0.9.23"),
              inject=target_fault("crash_on_start"), remove=clear_target_faults),
    "C6": Row(6, (6, "FAILED"), "cluster", "MySQL error 4016", ("127.0.9.24", "127.0.9.25"),
              inject=coordinator_sql_error(
                  lambda c: rf"^SELECT ZONE, STATUS, START_SERVICE_TIME\b.*'{escaped(c.ip)}'"),
              remove=clear_coordinator_faults),
    "T6": Row(7, (6, "FAILED"), "local", "Task.DagFailed", ("127.0.9.26", "127.0.9.27"),
              inject=target_fault("refuse_add_server"), remove=clear_target_faults),
    "C8": Row(8, (6, "FAILED"), "cluster", "OperationalError", ("127.0.9.28", "127.0.9.29"),
              inject=coordinator_sql_error(
                  lambda c: rf"^INSERT INTO .*obscale_cluster_agent.*'{escaped(c.ip)}'"),
              remove=clear_coordinator_faults),
    "C9": Row(9, (7, "RUNNING"), "cluster", "START_SERVICE_TIME is NULL",
              ("127.0.9.30", "127.0.9.31"), inject=target_fault("never_active"),
              remove=clear_target_faults),
    "T7": Row(9, (7, "FAILED"), "local", "MySQL error 4016", ("127.0.9.32", "127.0.9.33"),
              inject=login_refused, remove=clear_target_faults),
    "Z7": Row(7, (6, "FAILED"), "cluster", "MySQL error 4016", ("127.0.9.40", "127.0.9.41"),
              inject=coordinator_sql_error(lambda c: rf"^ALTER SYSTEM ADD ZONE '{c.zone}'"),
              remove=clear_coordinator_faults, new_zone=True),
    "Z8": Row(8, (6, "FAILED"), "cluster", "MySQL error 4016", ("127.0.9.42", "127.0.9.43"),
              inject=coordinator_sql_error(lambda c: rf"^ALTER SYSTEM START ZONE '{c.zone}'"),
              remove=clear_coordinator_faults, new_zone=True),
    "Z9": Row(9, (6, "FAILED"), "cluster", "4179", ("127.0.9.44", "127.0.9.45"),
              inject=target_fault("refuse_add_server"), remove=clear_target_faults,
              new_zone=True),
}
WAYS = ("ROLLBACK", "RETRY")


@pytest.fixture(scope="module")
def holds(tmp_path_factory):
    """One hold folder for the coordinator and every target: one case runs at a time."""
    return tmp_path_factory.mktemp("way-out-holds")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, holds):
    with scale_out_setup(tmp_path_factory.mktemp("way-out"), COORDINATOR,
                         {**BUDGETS, **hold_env(holds)}) as running:
        yield running


@pytest.fixture(scope="module")
def stopper(setup):
    """The targets' agents, stopped in the background; all of them gone before the cluster."""
    background = Stopper()
    yield background
    background.join()


@pytest.fixture
def case(request, setup, client, holds, stopper):
    """The case's spare target, started; the cluster given back as it was afterwards."""
    row_id, way = request.param
    free_cluster_lock(client)
    faults = Faults(setup.cluster.state_path)
    row = ROWS[row_id]
    ip = row.ips[WAYS.index(way)]
    setup.add_target(ip)
    zone = f"way_{ip.rsplit('.', 1)[1]}" if row.new_zone else "zone1"
    running = Case(setup, client, faults, holds, stopper, ip, zone)
    try:
        yield row, way, running
    finally:
        running.cleanup(row.new_zone)


def fail(row: Row, case: Case) -> None:
    """Inject the cause, start the scale-out and wait until both DAGs show the failure."""
    row.inject(case)
    case.start()
    row.provoke(case)

    def settled(cluster, target) -> bool:
        for name, dag in (("coordinator", cluster), ("target", target)):
            rerun = reruns(dag or {})
            assert not rerun, f"the {name}'s DAG ran {rerun} again, and no operator asked " \
                              f"for it{case.describe()}"
        if not failed_at(cluster, row.cluster_stage):
            return False
        if row.target is None:
            return target is None
        stage, state = row.target
        return target is not None and target["state"] == state and int(target["stage"]) == stage

    cluster, target = case.settle(settled, f"failure at coordinator stage {row.cluster_stage}, "
                                           f"target {row.target}")
    operated = cluster if row.operate == "cluster" else target
    assert row.log in failure_text(operated), case.describe()


def rollback(row: Row, case: Case, before: ClusterState, home: list[str]) -> None:
    """ROLLBACK: both DAGs rolled back, and nothing of the scale-out is left anywhere."""
    case.operate(row.operate, "ROLLBACK")
    row.on_rollback(case)
    cluster, target = case.settle(
        lambda c, t: ended(c, "SUCCEED", "ROLLBACK") and (
            t is None or ended(t, "SUCCEED", "ROLLBACK")), "both DAGs rolled back")
    assert (cluster["additional_data"] or {}).get("rolled_back") is True
    assert (target is None) == (row.target is None), snapshot_dag(target)
    assert cluster_state(case.setup) == before
    assert case.identity() == "SINGLE"
    pid = observer.read_pid(str(case.home))
    assert pid is None or not alive(pid), f"observer pid {pid} is alive"
    store = case.home / "store"
    if row.left_in_store:  # what the test put there is not the agent's to remove
        assert sorted(os.listdir(store)) == list(row.left_in_store)
        assert case.home_entries() == sorted(home + ["store"])
    else:
        assert case.home_entries() == home
    if "data_dir" in case.configs:
        assert not os.path.lexists(case.configs["data_dir"])
    assert case.client.get_cluster_unfinished_dag() == []


def retry(row: Row, case: Case, before: ClusterState) -> None:
    """RETRY once the cause is gone: both DAGs succeed, and ADD SERVER succeeded once."""
    row.remove(case)
    case.operate(row.operate, "RETRY")
    cluster, target = case.settle(lambda c, t: ended(c, "SUCCEED") and ended(t, "SUCCEED"),
                                  "both DAGs succeeded")
    for dag in (cluster, target):  # one RETRY: each failed stage ran once more, no stage more
        assert not reruns(dag, more_than=2), case.describe()
    codes = add_server_codes(case.setup, case.ip)
    assert codes.count(0) == 1, codes
    after = cluster_state(case.setup)
    assert after.registry == tuple(sorted(before.registry + ((case.ip, 2886),)))
    added = () if not row.new_zone else tuple(z for z in after.zones if z[0] == case.zone)
    assert tuple(z for z in after.zones if z not in added) == before.zones
    assert [z[1] for z in added] == (["ACTIVE"] if row.new_zone else [])
    joined = [s for s in after.servers if s[:2] == (case.ip, 2882)]
    assert len(joined) == 1 and joined[0][2] == case.zone and joined[0][4] == "ACTIVE", joined
    assert joined[0][5] is not None  # START_SERVICE_TIME: it serves
    assert case.identity() == "CLUSTER AGENT"
    assert case.client.get_cluster_unfinished_dag() == []


@pytest.mark.parametrize("case", [(row_id, way) for row_id in ROWS for way in WAYS],
                         ids=[f"{row_id}-{way}" for row_id in ROWS for way in WAYS],
                         indirect=True)
def test_way_out(case):
    row, way, running = case
    before, home = cluster_state(running.setup), running.home_entries()
    fail(row, running)
    if way == "ROLLBACK":
        rollback(row, running, before, home)
    else:
        retry(row, running, before)
