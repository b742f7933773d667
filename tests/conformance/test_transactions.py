"""Transactions, autocommit and isolation as the store sees them through two connections."""
from __future__ import annotations

import pytest

from app.models import RegistryAgent
from tests.conformance.dags import make_agent
from tests.conformance.expect import execute, mysql_error, rows, scalar

INSERT_AGENT = ("INSERT INTO registry_agent (ip, port, identity, zone, mysql_port, rpc_port, "
                "home_path, version, os, architecture, public_key, dag_id) "
                "VALUES (%s, 2886, 'CLUSTER AGENT', 'zone1', 2881, 2882, '', '', '', '', '', '')")
COUNT_AGENT = "SELECT COUNT(*) FROM registry_agent WHERE ip = %s"


@pytest.mark.parametrize("begin", ["BEGIN", "START TRANSACTION"])
def test_commit_publishes_and_rollback_discards(ocs, begin):
    writer, other = ocs.connect(0), ocs.connect(1)
    execute(writer, begin)
    execute(writer, INSERT_AGENT, "10.0.0.1")
    assert scalar(writer, COUNT_AGENT, "10.0.0.1") == 1
    assert scalar(other, COUNT_AGENT, "10.0.0.1") == 0  # not yet committed
    execute(writer, "COMMIT")
    assert scalar(other, COUNT_AGENT, "10.0.0.1") == 1
    execute(writer, begin)
    execute(writer, INSERT_AGENT, "10.0.0.2")
    execute(writer, "ROLLBACK")
    assert scalar(writer, COUNT_AGENT, "10.0.0.2") == 0
    assert scalar(other, COUNT_AGENT, "10.0.0.2") == 0


def test_autocommit_off_keeps_a_transaction_open(ocs):
    writer, other = ocs.connect(0), ocs.connect(1)
    execute(writer, "SET autocommit = 0")
    assert scalar(writer, "SELECT @@autocommit") == 0
    execute(writer, INSERT_AGENT, "10.0.0.1")
    assert scalar(other, COUNT_AGENT, "10.0.0.1") == 0
    execute(writer, "COMMIT")
    assert scalar(other, COUNT_AGENT, "10.0.0.1") == 1
    execute(writer, INSERT_AGENT, "10.0.0.2")
    execute(writer, "ROLLBACK")
    assert scalar(other, COUNT_AGENT, "10.0.0.2") == 0
    execute(writer, "SET autocommit = 1")
    assert scalar(writer, "SELECT @@autocommit") == 1
    execute(writer, INSERT_AGENT, "10.0.0.3")
    assert scalar(other, COUNT_AGENT, "10.0.0.3") == 1


def test_isolation_is_read_committed(ocs):
    # OceanBase's default (MySQL's is REPEATABLE-READ): a second read in one transaction sees
    # what another session committed in between, so read-then-write needs FOR UPDATE or a
    # compare-and-set.
    agent = make_agent(zone="zone1")
    reader, writer = ocs.connect(0), ocs.connect(1)
    assert scalar(reader, "SELECT @@transaction_isolation") == "READ-COMMITTED"
    execute(reader, "BEGIN")
    assert scalar(reader, "SELECT zone FROM registry_agent WHERE id = %s", agent.id) == "zone1"
    execute(writer, "UPDATE registry_agent SET zone = 'zone2' WHERE id = %s", agent.id)
    assert scalar(reader, "SELECT zone FROM registry_agent WHERE id = %s", agent.id) == "zone2"
    execute(reader, "COMMIT")


def test_a_duplicate_key_fails_only_its_statement(ocs):
    conn = ocs.connect()
    execute(conn, "BEGIN")
    execute(conn, INSERT_AGENT, "10.0.0.1")
    with mysql_error(1062):
        execute(conn, INSERT_AGENT, "10.0.0.1")
    execute(conn, INSERT_AGENT, "10.0.0.2")
    execute(conn, "COMMIT")
    assert rows(conn, "SELECT ip FROM registry_agent ORDER BY id") == [("10.0.0.1",),
                                                                     ("10.0.0.2",)]


def test_peewee_atomic_commits_rolls_back_and_nests_with_savepoints(ocs):
    with ocs.db.atomic():
        make_agent("10.0.0.1")
    with pytest.raises(RuntimeError):
        with ocs.db.atomic():
            make_agent("10.0.0.2")
            raise RuntimeError("abandon the transaction")
    with ocs.db.atomic():
        make_agent("10.0.0.3")
        with pytest.raises(RuntimeError):
            with ocs.db.atomic():  # SAVEPOINT ... ROLLBACK TO SAVEPOINT
                make_agent("10.0.0.4")
                raise RuntimeError("abandon the savepoint")
        make_agent("10.0.0.5")
    other = ocs.connect(1)
    assert rows(other, "SELECT ip FROM registry_agent ORDER BY ip") == [
        ("10.0.0.1",), ("10.0.0.3",), ("10.0.0.5",)]
    assert RegistryAgent.select().count() == 3
