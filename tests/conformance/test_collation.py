"""utf8mb4_general_ci: case-insensitive, trailing spaces ignored, in WHERE, keys and ORDER BY."""
from __future__ import annotations

from app.dag.models import MaintenanceLock
from app.models import RegistryAgent
from tests.conformance.dags import make_agent
from tests.conformance.expect import mysql_error, rows, scalar


def test_session_and_database_collation(ocs):
    conn = ocs.connect()
    assert rows(conn, "SELECT @@collation_connection, @@collation_database, "
                      "@@character_set_client") == [("utf8mb4_general_ci", "utf8mb4_general_ci",
                                                     "utf8mb4")]


def test_string_comparison_ignores_case_and_trailing_spaces(ocs):
    conn = ocs.connect()
    assert rows(conn, "SELECT 'Zone1' = 'zone1', 'zone1' = 'zone1   ', 'zone1' = ' zone1', "
                      "'ZONE1' LIKE 'zone%', 'b' > 'A'") == [(1, 1, 0, 1, 1)]


def test_where_on_a_column_matches_case_variants(ocs):
    make_agent(zone="Zone1")
    for wanted in ("zone1", "ZONE1", "zone1  "):
        assert RegistryAgent.select().where(RegistryAgent.zone == wanted).count() == 1, wanted
    assert RegistryAgent.select().where(RegistryAgent.zone == " zone1").count() == 0
    assert RegistryAgent.select().where(RegistryAgent.zone.in_(["ZONE1"])).count() == 1


def test_unique_keys_treat_case_variants_as_duplicates(ocs):
    make_agent("host-a", 2886)
    with mysql_error(1062, "Duplicate entry 'HOST-A-2886' for key 'registry_agent_ip_port'"):
        make_agent("HOST-A", 2886)
    MaintenanceLock.create(scope="cluster")
    with mysql_error(1062, "Duplicate entry 'Cluster ' for key 'PRIMARY'"):
        MaintenanceLock.create(scope="Cluster ")


def test_order_by_group_by_and_distinct_ignore_case(ocs):
    for n, zone in enumerate(["b", "A", "C", "a"]):
        make_agent(f"10.0.0.{n}", zone=zone)
    conn = ocs.connect()
    assert rows(conn, "SELECT zone FROM registry_agent ORDER BY zone, id") == [
        ("A",), ("a",), ("b",), ("C",)]
    assert scalar(conn, "SELECT COUNT(DISTINCT zone) FROM registry_agent") == 3
    grouped = rows(conn, "SELECT COUNT(*) FROM registry_agent GROUP BY zone ORDER BY zone")
    assert grouped == [(2,), (1,), (1,)]
