"""LAST_INSERT_ID() and the OK packet's insert id, per connection."""
from __future__ import annotations

from app.dag.models import Dag
from tests.conformance.dags import make_agent, make_dag
from tests.conformance.expect import rows, scalar
from tests.conformance.test_transactions import INSERT_AGENT

AGENT_ROW = "(%s, 2886, '', '', 0, 0, '', '', '', '', '', '')"


def test_peewee_create_takes_the_insert_id(ocs):
    first, second = make_dag("first"), make_dag("second")
    assert second.id > first.id
    agent = make_agent("10.0.0.1")  # the last insert on ocs.db's connection
    assert ocs.db.execute_sql("SELECT LAST_INSERT_ID()").fetchone()[0] == agent.id
    assert Dag.get_by_id(second.id).name == "second"


def test_last_insert_id_matches_the_ok_packet(ocs):
    conn = ocs.connect()
    with conn.cursor() as cursor:
        cursor.execute(INSERT_AGENT, ("10.0.0.1",))
        inserted = cursor.lastrowid
    assert inserted > 0
    assert scalar(conn, "SELECT LAST_INSERT_ID()") == inserted
    assert scalar(conn, "SELECT id FROM registry_agent WHERE ip = '10.0.0.1'") == inserted


def test_a_multi_row_insert_reports_its_first_id(ocs):
    conn = ocs.connect()
    sql = INSERT_AGENT.split("VALUES")[0] + "VALUES " + ", ".join([AGENT_ROW] * 3)
    with conn.cursor() as cursor:
        assert cursor.execute(sql, ("10.0.0.1", "10.0.0.2", "10.0.0.3")) == 3
        first = cursor.lastrowid
    assert scalar(conn, "SELECT LAST_INSERT_ID()") == first
    ids = [row[0] for row in rows(conn, "SELECT id FROM registry_agent ORDER BY id")]
    assert ids[0] == first and ids == sorted(set(ids))


def test_last_insert_id_belongs_to_its_connection(ocs):
    writer, other = ocs.connect(0), ocs.connect(1)
    with writer.cursor() as cursor:
        cursor.execute(INSERT_AGENT, ("10.0.0.1",))
    assert scalar(other, "SELECT LAST_INSERT_ID()") == 0
    assert scalar(writer, "SELECT LAST_INSERT_ID()") > 0
