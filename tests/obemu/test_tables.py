"""Ordinary tables on obemu processes: one database per cluster, seen alike through every observer.

Two real observer processes of one cluster (127.0.1.120 and .121) share the cluster's state; the
peewee models of the DAG engine and the registry run on them through MySQLDatabase, and
concurrent writers through both observers are serialised. The seekdb conformance suite
(tests/conformance) checks the same surface against a real kernel; this file checks what only a
cluster of several observer processes has.
"""
from __future__ import annotations

import datetime
import threading
import time

import pymysql
import pytest
from peewee import MySQLDatabase, sort_models

from app.dag.models import MODELS as DAG_MODELS
from app.dag.models import READY, RUNNING, Dag, SubTask
from app.models import RegistryAgent
from tests.conformance.dags import add_log, make_agent, make_dag
from tests.obemu.helpers import code_of, error_of, execute, rows

STORE_MODELS = sort_models([*DAG_MODELS, RegistryAgent])
FIRST_IP, SECOND_IP = "127.0.1.120", "127.0.1.121"
PASSWORD = "tables-root"
CLAIMERS = 8


@pytest.fixture
def cluster(fleet):
    """Two observer processes of one cluster, both members, with root's password set."""
    first = fleet.start_cluster(FIRST_IP, root_password=PASSWORD)
    second = fleet.start_spare(SECOND_IP, "zone1", cluster=first)
    with first.connect() as conn:
        execute(conn, f"ALTER SYSTEM ADD SERVER '{second.addr}'")
        execute(conn, "CREATE DATABASE IF NOT EXISTS ocs")
    return first, second


def connect(node, database: str | None = "ocs", **kwargs):
    """root on `node` with the cluster's password, autocommit on."""
    return node.connect(password=PASSWORD, database=database, **kwargs)


def peewee_db(node) -> MySQLDatabase:
    return MySQLDatabase("ocs", host=node.ip, port=node.mysql_port, user="root",
                         password=PASSWORD, ssl_disabled=True)


def run_all(threads: list[threading.Thread], timeout: float) -> None:
    """Start every thread, then wait for each (at most `timeout` seconds apiece)."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)


def make_counter(conn) -> None:
    execute(conn, "CREATE TABLE counter (id INT PRIMARY KEY, owner VARCHAR(64), version INT)")
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO counter VALUES (%s, NULL, 0)",
                           [(n,) for n in range(1, 11)])


def test_the_engine_models_run_through_peewee_on_either_observer(cluster):
    first, second = cluster
    db_one, db_two = peewee_db(first), peewee_db(second)
    try:
        with db_one.bind_ctx(STORE_MODELS):
            db_one.create_tables(STORE_MODELS)
            dag = make_dag(stages=3)
            task = SubTask.select().where(SubTask.dag == dag.id).order_by(SubTask.id).first()
            add_log(task, "ALTER SYSTEM ADD SERVER '10.0.0.2:2882'")
            make_agent(ip="10.0.0.9", zone="Zone2")
        with db_two.bind_ctx(STORE_MODELS):
            db_two.create_tables(STORE_MODELS)  # the second agent's start: a no-op
            assert Dag.get_by_id(dag.id).max_stage == 3
            assert SubTask.select().where(SubTask.dag == dag.id).count() == 6
            # compare-and-set through the second observer: the first claim wins, the repeat loses
            claim = Dag.update(state=RUNNING).where((Dag.id == dag.id) & (Dag.state == READY))
            assert claim.execute() == 1
            assert claim.execute() == 0
            # utf8mb4_general_ci: the registry row written as Zone2 is found as zone2
            assert RegistryAgent.get(RegistryAgent.zone == "zone2 ").ip == "10.0.0.9"
        with db_one.bind_ctx(STORE_MODELS):
            assert Dag.get_by_id(dag.id).state == RUNNING
            assert [log.log_content for log in task.logs] == [
                "ALTER SYSTEM ADD SERVER '10.0.0.2:2882'"]
    finally:
        db_one.close()
        db_two.close()


def test_a_row_written_through_one_observer_is_read_through_the_other_at_once(cluster):
    first, second = cluster
    with connect(first) as one, connect(second) as two:
        execute(one, "CREATE TABLE note (id BIGINT AUTO_INCREMENT PRIMARY KEY, text VARCHAR(32))")
        for n in range(20):
            with one.cursor() as cursor:
                cursor.execute("INSERT INTO note (text) VALUES (%s)", (f"n{n}",))
                inserted = cursor.lastrowid
            assert rows(two, "SELECT text FROM note WHERE id = %s", (inserted,)) == [(f"n{n}",)]


def test_a_transaction_is_seen_by_the_other_observer_only_after_commit(cluster):
    first, second = cluster
    with connect(first) as one, connect(second) as two:
        make_counter(one)
        execute(one, "BEGIN")
        execute(one, "UPDATE counter SET version = 7 WHERE id = 1")
        assert rows(two, "SELECT version FROM counter WHERE id = 1") == [(0,)]
        execute(one, "COMMIT")
        assert rows(two, "SELECT version FROM counter WHERE id = 1") == [(7,)]
        one.autocommit(False)
        execute(one, "DELETE FROM counter WHERE id = 2")
        one.rollback()
        assert rows(two, "SELECT COUNT(*) FROM counter") == [(10,)]


def test_concurrent_claims_through_both_observers_have_exactly_one_winner(cluster):
    first, second = cluster
    with connect(first) as setup:
        make_counter(setup)
    start = threading.Barrier(CLAIMERS)
    results: dict[str, list[int]] = {}
    failures: list = []

    def claim(name: str, node) -> None:
        try:
            with connect(node) as conn:
                start.wait(timeout=30)
                counts = []
                for row in range(1, 11):
                    with conn.cursor() as cursor:
                        counts.append(cursor.execute(
                            "UPDATE counter SET owner = %s, version = version + 1 "
                            "WHERE id = %s AND owner IS NULL", (name, row)))
                results[name] = counts
        except Exception as error:  # reported below, with the claimer's name
            failures.append((name, repr(error)))

    threads = [threading.Thread(target=claim, args=(f"c{n}", cluster[n % 2]))
               for n in range(CLAIMERS)]
    run_all(threads, timeout=60)
    assert failures == []
    assert len(results) == CLAIMERS
    for row in range(10):
        assert sum(counts[row] for counts in results.values()) == 1
    with connect(second) as check:
        owners = rows(check, "SELECT id, owner, version FROM counter ORDER BY id")
    assert all(owner is not None and version == 1 for _, owner, version in owners)
    for row_id, owner, _ in owners:
        assert results[owner][row_id - 1] == 1


def test_for_update_through_one_observer_blocks_a_writer_through_the_other(cluster):
    first, second = cluster
    with connect(first) as holder, connect(second) as writer:
        make_counter(holder)
        execute(holder, "START TRANSACTION")
        assert rows(holder, "SELECT version FROM counter WHERE id = 3 FOR UPDATE") == [(0,)]
        done = threading.Event()
        outcome: list = []

        def write() -> None:
            with writer.cursor() as cursor:
                outcome.append(cursor.execute("UPDATE counter SET version = 99 WHERE id = 3"))
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        assert not done.wait(0.8), "the writer went past the holder's FOR UPDATE lock"
        execute(holder, "UPDATE counter SET version = 1 WHERE id = 3")
        execute(holder, "COMMIT")
        thread.join(timeout=30)
        assert outcome == [1]
        assert rows(holder, "SELECT version FROM counter WHERE id = 3") == [(99,)]


def test_a_lock_wait_that_gives_up_is_1205_and_the_holder_keeps_its_lock(cluster):
    first, second = cluster
    with connect(first) as holder, connect(second) as waiter:
        make_counter(holder)
        execute(holder, "BEGIN")
        execute(holder, "UPDATE counter SET version = 5 WHERE id = 4")
        execute(waiter, "SET SESSION ob_trx_lock_timeout = 300000")  # microseconds
        began = time.monotonic()
        assert error_of(waiter, "UPDATE counter SET version = 6 WHERE id = 4")[0] == 1205
        assert time.monotonic() - began < 10
        execute(holder, "COMMIT")
        assert rows(waiter, "SELECT version FROM counter WHERE id = 4") == [(5,)]


def test_ok_packets_carry_affected_rows_and_insert_ids(cluster):
    first, second = cluster
    with connect(first) as conn:
        execute(conn, "CREATE TABLE agent (id INT AUTO_INCREMENT PRIMARY KEY, "
                      "ip VARCHAR(64) NOT NULL, port INT NOT NULL, seen INT DEFAULT 0, "
                      "UNIQUE KEY agent_ip_port (ip, port))")
        with conn.cursor() as cursor:
            assert cursor.execute("INSERT INTO agent (ip, port) VALUES ('a', 1), ('b', 1)") == 2
            first_id = cursor.lastrowid
            assert rows(conn, "SELECT LAST_INSERT_ID()") == [(first_id,)]
            upsert = ("INSERT INTO agent (ip, port) VALUES ('A', 1) "
                      "ON DUPLICATE KEY UPDATE seen = seen + 1")
            assert cursor.execute(upsert) == 2  # an update of an existing row counts twice
            assert cursor.execute("UPDATE agent SET seen = 1 WHERE ip = 'a'") == 0  # unchanged
            assert cursor.execute("DELETE FROM agent ORDER BY id DESC LIMIT 1") == 1
    with connect(second) as other:
        assert rows(other, "SELECT ip, seen FROM agent") == [("a", 1)]
        assert error_of(other, "INSERT INTO agent (ip, port) VALUES ('A ', 1)")[0] == 1062


@pytest.mark.parametrize("sql, code", [
    ("SELECT * FROM no_such_table", 1146),
    ("INSERT INTO counter VALUES (1, NULL, 0)", 1062),
    ("SELEKT 1", 1064),
    ("CREATE TABLE counter (id INT PRIMARY KEY)", 1050),
])
def test_errors_carry_mysql_codes(cluster, sql, code):
    with connect(cluster[1]) as conn:
        make_counter(conn)
        assert code_of(conn, sql) == code


def test_only_root_may_change_ocs(cluster):
    first, second = cluster
    with connect(first) as root:
        make_counter(root)
        execute(root, "CREATE USER reader IDENTIFIED BY 'reader-pw'")
    with second.connect(user="reader", password="reader-pw", database="ocs") as reader:
        assert rows(reader, "SELECT COUNT(*) FROM counter") == [(10,)]
        assert code_of(reader, "UPDATE counter SET version = 1") == 1142
        assert code_of(reader, "INSERT INTO counter VALUES (50, NULL, 0)") == 1142
        assert code_of(reader, "CREATE TABLE mine (id INT PRIMARY KEY)") == 1142
        assert code_of(reader, "DROP DATABASE ocs") == 1044
    with pytest.raises(pymysql.MySQLError) as refused:
        second.connect(user="root", password="wrong", database="ocs")
    assert refused.value.args[0] == 1045
    with connect(second) as root:
        assert rows(root, "SELECT SUM(version) FROM counter") == [(0,)]


def test_many_short_connections_through_both_observers(cluster):
    first, second = cluster
    with connect(first) as setup:
        execute(setup, "CREATE TABLE hit (id INT AUTO_INCREMENT PRIMARY KEY, via VARCHAR(16))")
    failures: list = []

    def hammer(node, count: int) -> None:
        for _ in range(count):
            try:
                with connect(node) as conn, conn.cursor() as cursor:
                    cursor.execute("INSERT INTO hit (via) VALUES (%s)", (node.ip,))
            except pymysql.MySQLError as error:
                failures.append(error.args)

    threads = [threading.Thread(target=hammer, args=(node, 60)) for node in cluster * 2]
    run_all(threads, timeout=120)
    assert failures == []
    with connect(second) as check:
        assert rows(check, "SELECT via, COUNT(*) FROM hit GROUP BY via ORDER BY via") == [
            (FIRST_IP, 120), (SECOND_IP, 120)]


def test_the_session_time_zone_is_a_setting(fleet):
    node = fleet.start_cluster("127.0.1.122", root_password=PASSWORD,
                               env={"OBEMU_TIME_ZONE": "-05:30"})
    with connect(node, database=None) as conn:
        assert rows(conn, "SELECT @@session.time_zone") == [("-05:30",)]
        now, utc = rows(conn, "SELECT NOW(6), UTC_TIMESTAMP(6)")[0]
        offset = datetime.timedelta(hours=-5, minutes=-30)
        assert abs((now - utc) - offset) < datetime.timedelta(seconds=1)
        execute(conn, "SET time_zone = '+08:00'")
        assert rows(conn, "SELECT FROM_UNIXTIME(0)") == [(datetime.datetime(1970, 1, 1, 8, 0),)]
