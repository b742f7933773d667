"""Compare-and-set row counts and SELECT ... FOR UPDATE between two connections.

On obemu the two connections go through two observers of one cluster; on seekdb both reach
the one server. Either way they are two sessions competing for one row.
"""
from __future__ import annotations

import threading

import pytest

from app.dag.models import PENDING, RUNNING, SubTask
from tests.conformance.dags import make_agent, make_dag, run_query
from tests.conformance.expect import Background, execute, mysql_error, per_target, rows, scalar

# A correct server keeps the second locker blocked as long as the first holds the row; this
# bound only limits how long the test looks before it lets the holder go.
BLOCKED_FOR_S = 0.5
LOCK_WAIT_MESSAGE = "Lock wait timeout exceeded; try restarting transaction"
ONE_SECOND_US = 1000000


def claim(sub_task_id: int, owner: str):
    """The engine's claim: PENDING -> RUNNING under `owner`, compare-and-set on the state."""
    return SubTask.update(state=RUNNING, claim_owner=owner).where(
        (SubTask.id == sub_task_id) & (SubTask.state == PENDING))


def first_task() -> SubTask:
    make_dag(stages=1, tasks_per_stage=1)
    return SubTask.select().first()


def test_competing_claim_waits_for_the_first_and_loses(ocs):
    task = first_task()
    first, second = ocs.connect(0), ocs.connect(1)
    execute(first, "BEGIN")
    assert run_query(first, claim(task.id, "first")) == 1
    competing = Background(lambda: run_query(second, claim(task.id, "second")))
    assert competing.still_running_after(BLOCKED_FOR_S)  # waits for the first's row lock
    execute(first, "COMMIT")
    assert competing.result() == 0
    assert rows(second, "SELECT state, claim_owner FROM sub_task WHERE id = %s", task.id) == [
        (RUNNING, "first")]


def test_simultaneous_claims_have_exactly_one_winner(ocs):
    task = first_task()
    connections = [ocs.connect(0), ocs.connect(1)]
    for round_number in range(5):
        SubTask.update(state=PENDING, claim_owner=None).where(SubTask.id == task.id).execute()
        start = threading.Barrier(2)

        def contend(conn, owner: str) -> int:
            start.wait()
            return run_query(conn, claim(task.id, owner))

        claims = [Background(lambda c=conn, o=f"owner{n}": contend(c, o))
                  for n, conn in enumerate(connections)]
        counts = [attempt.result() for attempt in claims]
        assert sorted(counts) == [0, 1], f"round {round_number}: {counts}"
        winner = f"owner{counts.index(1)}"
        assert SubTask.get_by_id(task.id).claim_owner == winner


def test_update_counts_changed_rows_not_matched_rows(ocs):
    # PyMySQL does not set CLIENT_FOUND_ROWS: an UPDATE that matches a row but changes
    # nothing reports 0, so a compare-and-set must always change the row it guards.
    agent = make_agent(zone="zone1")
    conn = ocs.connect()
    assert execute(conn, "UPDATE registry_agent SET zone = 'zone1' WHERE id = %s", agent.id) == 0
    assert execute(conn, "UPDATE registry_agent SET zone = 'zone2' WHERE id = %s", agent.id) == 1
    assert execute(conn, "UPDATE registry_agent SET zone = 'zone3' WHERE id = %s",
                   agent.id + 1000) == 0


@pytest.mark.parametrize("timeout_variable", ["ob_trx_lock_timeout", "ob_query_timeout"])
def test_a_lock_wait_that_gives_up_is_1205(ocs, timeout_variable):
    # OceanBase ignores innodb_lock_wait_timeout; the wait ends at ob_trx_lock_timeout or at
    # ob_query_timeout, and both end as MySQL's 1205 (not 4012/6002/6003).
    task = first_task()
    holder, waiter = ocs.connect(0), ocs.connect(1)
    execute(holder, "BEGIN")
    assert rows(holder, "SELECT state FROM sub_task WHERE id = %s FOR UPDATE", task.id) == [
        (PENDING,)]
    execute(waiter, f"SET SESSION {timeout_variable} = {ONE_SECOND_US}")
    execute(waiter, "BEGIN")
    with mysql_error(1205, LOCK_WAIT_MESSAGE):
        execute(waiter, "SELECT state FROM sub_task WHERE id = %s FOR UPDATE", task.id)
    with mysql_error(1205, LOCK_WAIT_MESSAGE):
        execute(waiter, "UPDATE sub_task SET state = 'X' WHERE id = %s", task.id)
    execute(waiter, "ROLLBACK")
    execute(holder, "ROLLBACK")


def test_a_lock_wait_timeout_fails_only_its_statement(target, ocs):
    task = first_task()
    holder, waiter = ocs.connect(0), ocs.connect(1)
    execute(holder, "BEGIN")
    execute(holder, "SELECT id FROM sub_task WHERE id = %s FOR UPDATE", task.id)
    execute(waiter, f"SET SESSION ob_trx_lock_timeout = {ONE_SECOND_US}")
    execute(waiter, "BEGIN")
    insert = "INSERT INTO maintenance_lock (scope) VALUES ('cluster')"
    # A real kernel locks rows, so the waiter's insert of another row goes ahead. obemu's
    # write lock is the whole database (docs/conformance.md, known differences of obemu): the
    # insert waits for the holder too, and gives up with the same 1205.
    lock = per_target(target, seekdb="row", obemu="database")
    if lock == "row":
        execute(waiter, insert)
    else:
        with mysql_error(1205, LOCK_WAIT_MESSAGE):
            execute(waiter, insert)
    with mysql_error(1205, LOCK_WAIT_MESSAGE):
        execute(waiter, "UPDATE sub_task SET claim_owner = 'waiter' WHERE id = %s", task.id)
    if lock == "database":
        execute(holder, "COMMIT")
        execute(waiter, insert)  # the transaction survived both failed statements
    execute(waiter, "COMMIT")  # its insert is committed
    if lock == "row":
        execute(holder, "COMMIT")
    assert scalar(holder, "SELECT COUNT(*) FROM maintenance_lock WHERE scope = 'cluster'") == 1


def test_for_update_serialises_two_lockers(ocs):
    task = first_task()
    first, second = ocs.connect(0), ocs.connect(1)
    execute(first, "BEGIN")
    assert rows(first, "SELECT state FROM sub_task WHERE id = %s FOR UPDATE", task.id) == [
        (PENDING,)]

    def lock_and_read() -> str:
        execute(second, "BEGIN")
        state = scalar(second, "SELECT state FROM sub_task WHERE id = %s FOR UPDATE", task.id)
        execute(second, "COMMIT")
        return state

    locker = Background(lock_and_read)
    assert locker.still_running_after(BLOCKED_FOR_S)
    execute(first, "UPDATE sub_task SET state = %s WHERE id = %s", (RUNNING, task.id))
    execute(first, "COMMIT")
    assert locker.result() == RUNNING  # it read after the first committed


def test_a_plain_read_does_not_wait_for_a_row_lock(ocs):
    task = first_task()
    writer, reader = ocs.connect(0), ocs.connect(1)
    execute(writer, "BEGIN")
    execute(writer, "UPDATE sub_task SET state = %s WHERE id = %s", (RUNNING, task.id))
    # MVCC: the reader sees the last committed version at once, not the uncommitted one.
    assert scalar(reader, "SELECT state FROM sub_task WHERE id = %s", task.id) == PENDING
    execute(writer, "COMMIT")
    assert scalar(reader, "SELECT state FROM sub_task WHERE id = %s", task.id) == RUNNING
