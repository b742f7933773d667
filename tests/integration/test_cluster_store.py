"""The cluster store with two members (spec/cluster-store.md): one maintenance at a time whichever
member is asked, any member answers and operates a cluster DAG, and a scale-out survives the
death (SIGKILL of every process of its agent) or the stall (SIGSTOP) of the member running it.

Member A took the cluster over, member B joined it by a scale-out; both are CLUSTER AGENTs. The
race and the cross-member tests share one cluster (each adds its own spares); the kill, stall
and restart tests kill or stop processes, so each has a cluster of its own. Hold files
(tests/support/holds.py, one folder per agent) pin every kill to its stage.
"""
from __future__ import annotations

import threading
import time

import pytest
from obshell.service.client_v1 import OBShellHandleError, TaskExecuteFailedError

from tests.support.agents import alive
from tests.support.holds import hold_file, reached
from tests.support.members import (Members, client_of, freeze_tree, kill_tree, scale_out,
                                   two_members, wait_dag)
from tests.support.polling import wait_until
from tests.support.scaleout import Faults, release_cluster_lock

pytestmark = pytest.mark.integration

# 127.0.4.x belongs to this module: .1-.5 the shared cluster and its spares, .21-.22 the members
# of the per-test clusters, .31-.37 their spares.
SHARED_A, SHARED_B = "127.0.4.1", "127.0.4.2"
OWN_A, OWN_B = "127.0.4.21", "127.0.4.22"
ADD_SERVER_STAGE, LAST_STAGE = 7, 9  # of a scale-out into an existing zone (9 stages)
HANG_S = 30  # long enough that A is still inside ADD SERVER when B takes over


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """A and B of one cluster for the tests that leave it usable (each adds its own spares)."""
    with two_members(tmp_path_factory.mktemp("cluster-store"), SHARED_A, SHARED_B) as pair:
        yield pair


@pytest.fixture
def idle_shared(shared):
    """The shared cluster's lock is free before and after the test; no hold file is left."""
    release_cluster_lock(client_of(SHARED_A))
    yield shared
    shared.release_holds()
    release_cluster_lock(client_of(SHARED_A))


@pytest.fixture
def own(tmp_path):
    """A and B of a cluster of this test's own (for tests that kill or stop an agent)."""
    with two_members(tmp_path, OWN_A, OWN_B) as pair:
        yield pair


def identity_of(ip: str) -> str:
    return client_of(ip).get_info().identity


def owner_is(row: dict, ip: str) -> bool:
    return (row["claim_owner"] or "").endswith(f"@{ip}:2886")


def observer(ip: str) -> str:
    """How obemu's statement log names the observer on `ip`."""
    return f"{ip}:2882"


def assert_scaled_out(pair: Members, generic_id: str, target: str) -> None:
    """The DAG SUCCEED (read through B), ADD SERVER succeeded exactly once, the server serves."""
    done = wait_dag(client_of(pair.b_ip), generic_id)
    assert (done.state, done.operator, done.stage) == ("SUCCEED", "RUN", LAST_STAGE)
    assert len(pair.add_server_successes(target)) == 1, pair.setup.statements("ADD SERVER")
    zone, status, start_service_time, _ = pair.setup.server_row(target)
    assert (zone, status) == ("zone1", "ACTIVE") and start_service_time is not None
    wait_until(lambda: identity_of(target) == "CLUSTER AGENT", 60,
               what=f"{target} a CLUSTER AGENT")


# 1. One maintenance at a time, whichever member is asked ------------------------------------

def test_two_members_race_for_the_cluster_lock(idle_shared):
    pair = idle_shared
    spares = {SHARED_A: "127.0.4.3", SHARED_B: "127.0.4.4"}  # member asked -> its target
    for spare in spares.values():
        pair.add_spare(spare)
    barrier = threading.Barrier(len(spares))
    answers: dict[str, object] = {}

    def post(member: str) -> None:
        client = client_of(member)
        barrier.wait()
        try:
            answers[member] = scale_out(client, spares[member])
        except OBShellHandleError as refused:
            answers[member] = refused

    threads = [threading.Thread(target=post, args=(member,)) for member in spares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    dags = {m: a for m, a in answers.items() if not isinstance(a, Exception)}
    refusals = {m: a for m, a in answers.items() if isinstance(a, OBShellHandleError)}
    assert len(dags) == 1 and len(refusals) == 1, answers
    (winner, dag), = dags.items()
    (loser, refused), = refusals.items()
    assert refused.err_code == "OB.Cluster.UnderMaintenanceWithDag", str(refused)
    assert f"DAG {dag.generic_id} " in refused.message and "Cluster scale out" in refused.message
    done = wait_dag(client_of(loser), dag.generic_id)  # the cleanup, read on the other member
    assert done.state == "SUCCEED"
    assert len(pair.add_server_successes(spares[winner])) == 1
    assert pair.setup.statements(f"ADD SERVER '{spares[loser]}:") == []
    assert identity_of(spares[loser]) == "SINGLE"
    assert client_of(SHARED_A).get_cluster_unfinished_dag() == []


# 2. Any member answers and operates a cluster DAG ----------------------------------------------

def dag_view(client, generic_id: str):
    dag = client.get_dag(generic_id)
    return (dag.generic_id, dag.name, dag.state, dag.operator, dag.stage, dag.max_stage,
            [(node.name, node.state) for node in dag.nodes])


def test_any_member_reads_and_operates_the_dag(idle_shared):
    pair = idle_shared
    target = "127.0.4.5"
    pair.add_spare(target)
    faults = Faults(pair.setup.cluster.state_path)
    on_a, on_b = client_of(SHARED_A), client_of(SHARED_B)
    # Whichever member runs stage 4 (A, which was asked, unless another one swept it up) stops
    # there, so that the DAG is seen RUNNING.
    holds = [hold_file(folder, "cluster", 4) for folder in pair.holds.values()]
    for hold in holds:
        hold.touch()
    try:
        faults.add(f"{target}:2882", "refuse_add_server")
        dag = scale_out(on_a, target)
        wait_until(lambda: any(reached(hold).exists() for hold in holds), 60,
                   what="stage 4 held")
        running = on_b.get_dag(dag.generic_id)
        assert (running.state, running.stage, running.name) == ("RUNNING", 4, "Cluster scale out")
        assert dag_view(on_a, dag.generic_id) == dag_view(on_b, dag.generic_id)
        for hold in holds:
            hold.unlink()
        with pytest.raises(TaskExecuteFailedError) as failed:
            on_b.wait_dag_succeed(dag.generic_id)
        assert "4179" in str(failed.value) and "add non-empty server" in str(failed.value)
        failed_dag = on_b.get_dag(dag.generic_id)
        assert (failed_dag.state, failed_dag.stage) == ("FAILED", ADD_SERVER_STAGE)
        assert dag_view(on_a, dag.generic_id) == dag_view(on_b, dag.generic_id)
        sub_task = failed_dag.nodes[ADD_SERVER_STAGE - 1].sub_tasks[0]
        seen_on_a = on_a.get_sub_task(sub_task.generic_id)
        assert seen_on_a.task_logs == on_b.get_sub_task(sub_task.generic_id).task_logs
        assert "4179" in seen_on_a.task_logs[-1]
        faults.clear(f"{target}:2882")
        # RETRY through the member that did not create the DAG.
        assert on_b.operate_dag_sync(dag.generic_id, "RETRY") is True
    finally:
        faults.clear_all()
    done = on_a.wait_dag_succeed(dag.generic_id)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert dag_view(on_a, dag.generic_id) == dag_view(on_b, dag.generic_id)
    assert len(pair.add_server_successes(target)) == 1
    assert pair.setup.server_row(target)[2] is not None
    last_on_a, = on_a.get_ob_last_maintenance_dag()
    last_on_b, = on_b.get_ob_last_maintenance_dag()
    assert (last_on_a.generic_id, last_on_a.name, last_on_a.state) == \
        (last_on_b.generic_id, last_on_b.name, last_on_b.state) == \
        (dag.generic_id, "Cluster scale out", "SUCCEED")


# 3. The member running a scale-out dies: the other one continues it ---------------------------

def hold_a(pair: Members, stage: int, after: bool):
    """Arm a hold file of A at `stage`; returns it."""
    hold = hold_file(pair.hold_dir(pair.a_ip), "cluster", stage, after)
    hold.touch()
    return hold


def inside_add_server(pair: Members, dag_id: int) -> bool:
    """A has recorded its ADD SERVER attempt and still runs the stage (its observer holds the
    statement under the hang fault)."""
    row = pair.sub_task_row(dag_id, ADD_SERVER_STAGE)
    attempted = pair.dag_row(dag_id)["context"].get("addServerAttempted")
    return bool(attempted) and row["state"] == "RUNNING" and owner_is(row, pair.a_ip)


def start_held(pair: Members, target: str, stage: int, after: bool | None, faults: Faults):
    """POST the scale-out to A; return its DAG once A's consumer is held at `stage` (after=None:
    inside ADD SERVER, held by a hang fault on A's observer), and the hold file if any."""
    hold = None
    if after is None:
        faults.add(f"{pair.a_ip}:2882", f"hang:^ALTER SYSTEM ADD SERVER:{HANG_S}")
    else:
        hold = hold_a(pair, stage, after)
    dag = scale_out(client_of(pair.a_ip), target)
    if hold is None:
        wait_until(lambda: inside_add_server(pair, dag.dag_id), 90, 0.1, what="A inside ADD SERVER")
    else:
        wait_until(reached(hold).exists, 90, what=f"A held at stage {stage}")
    row = pair.sub_task_row(dag.dag_id, stage)
    assert row["state"] == "RUNNING" and owner_is(row, pair.a_ip), row
    return dag, hold


def taken_over(pair: Members, dag_id: int, stage: int) -> str:
    """What shows that another member continues the DAG at `stage` (empty while none does)."""
    row = pair.sub_task_row(dag_id, stage)
    if row["claim_owner"] and not owner_is(row, pair.a_ip):
        return f"{row['claim_owner'].partition('@')[2]} claimed the stage"
    if row["state"] != "RUNNING":
        return f"the stage is {row['state']}"
    return ""


def kill_a_and_wait_for_b(pair: Members, dag, stage: int, hold) -> float:
    """SIGKILL all of A's agent processes and release the hold; once another member continued
    the stage, print how long that took. Returns the time of the kill (monotonic)."""
    killed_at = time.monotonic()
    victims = kill_tree(pair.a)
    assert alive(pair.setup.cluster.pid) and pair.setup.cluster.pid not in victims
    if hold is not None:
        hold.unlink()
    how = wait_until(lambda: taken_over(pair, dag.dag_id, stage), 60, 0.1,
                     what=f"another member continuing stage {stage}")
    print(f"\nkilled A's {len(victims)} processes at stage {stage}: {how} "
          f"{time.monotonic() - killed_at:.1f} s later")
    return killed_at


KILL_POINTS = {  # (stage, hold after the task returned / before it runs / None: inside it)
    "stage2-after-target-dag-created": (2, True, "127.0.4.31"),
    "stage5-before-start-wait": (5, False, "127.0.4.32"),
    "stage7-inside-add-server": (7, None, "127.0.4.33"),
    "stage9-before-last-check": (9, False, "127.0.4.34"),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_executor_killed_other_member_continues(own, point):
    stage, after, target = KILL_POINTS[point]
    own.add_spare(target)
    faults = Faults(own.setup.cluster.state_path)
    try:
        dag, hold = start_held(own, target, stage, after, faults)
        killed_at = kill_a_and_wait_for_b(own, dag, stage, hold)
        assert_scaled_out(own, dag.generic_id, target)
        print(f"{point}: SUCCEED {time.monotonic() - killed_at:.1f} s after the kill")
    finally:
        faults.clear_all()
    # Before stage 7 was done, B sent the one ADD SERVER (through its own observer); at stage 7
    # A's statement, still held by its observer, can only fail once it runs.
    sent_by = own.a_ip if stage > ADD_SERVER_STAGE else own.b_ip
    assert own.add_server_successes(target) == [observer(sent_by)]
    # The stage shows the member that ran it after the kill: B, or at the last stage the target
    # too (a CLUSTER AGENT by then).
    continued = client_of(own.b_ip).get_dag(dag.generic_id).nodes[stage - 1].sub_tasks[0]
    members = {own.b_ip} if stage < LAST_STAGE else {own.b_ip, target}
    assert continued.execute_agent in {f"{ip}:2886" for ip in members}


# 4. A stalled (not dead) executor loses its claim and records nothing -------------------------

def test_stalled_executor_records_nothing_after_takeover(own):
    target = "127.0.4.35"
    own.add_spare(target)
    hold = hold_a(own, ADD_SERVER_STAGE, after=False)
    dag = scale_out(client_of(own.a_ip), target)
    wait_until(reached(hold).exists, 90, what="A held before ADD SERVER")
    own.stopped.update(freeze_tree(own.a))
    hold.unlink()  # A would go on to ADD SERVER if it could run
    assert_scaled_out(own, dag.generic_id, target)
    before = own.log_rows(dag.dag_id)
    dropped = stale_runs_dropped(own)
    seen = dropped()
    own.resume_stopped()
    wait_until(lambda: dropped() > seen, 60, what="A's stale run of stage 7 dropped")
    assert own.log_rows(dag.dag_id) == before
    assert own.add_server_successes(target) == [observer(own.b_ip)]
    assert client_of(own.a_ip).get_dag(dag.generic_id, show_detail=False).state == "SUCCEED"
    stage7 = client_of(own.a_ip).get_dag(dag.generic_id).nodes[ADD_SERVER_STAGE - 1].sub_tasks[0]
    assert sum("ADD SERVER" in line and "done" in line for line in stage7.task_logs) == 1
    assert stage7.execute_agent == f"{own.b_ip}:2886"  # B ran it; A only held the claim


def stale_runs_dropped(pair: Members):
    """How many runs A's consumer dropped because their claim had been taken over (its log)."""
    worker_log = pair.a.state_dir / "log" / "worker.log"

    def count() -> int:
        return worker_log.read_text(errors="replace").count("taken over while it ran")

    return count


# 5. The dead member comes back -----------------------------------------------------------------

def test_killed_member_restarts_and_runs_the_next_scale_out(own):
    first, second = "127.0.4.36", "127.0.4.37"
    own.add_spare(first)
    own.add_spare(second)
    dag, hold = start_held(own, first, 5, False, Faults(own.setup.cluster.state_path))
    kill_a_and_wait_for_b(own, dag, 5, hold)
    assert_scaled_out(own, dag.generic_id, first)
    restarted = client_of(own.restart_a().ip)
    old = restarted.get_dag(dag.generic_id)
    assert (old.state, old.operator, old.stage) == ("SUCCEED", "RUN", LAST_STAGE)
    assert own.add_server_successes(first) == [observer(own.b_ip)]  # nothing re-ran
    new = scale_out(restarted, second)
    done = wait_dag(restarted, new.generic_id)
    assert (done.state, done.operator) == ("SUCCEED", "RUN")
    assert own.add_server_successes(second) == [observer(own.a_ip)]
    assert own.add_server_successes(first) == [observer(own.b_ip)]
    assert own.setup.server_row(second)[2] is not None
    nodes = restarted.get_dag(new.generic_id).nodes
    agents = {t.execute_agent for node in nodes for t in node.sub_tasks}
    assert agents == {f"{own.a_ip}:2886"}
