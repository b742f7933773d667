"""Error codes and texts the store meets, raw (PyMySQL) and as peewee's exception classes."""
from __future__ import annotations

import peewee
import pytest

from app.models import RegistryAgent
from tests.conformance.dags import make_agent
from tests.conformance.expect import execute, mysql_error
from tests.conformance.targets import DATABASE

SYNTAX_ERROR = ("You have an error in your SQL syntax; check the manual that corresponds to "
                "your OceanBase version for the right syntax to use near ")


def test_duplicate_key_is_1062_and_peewee_integrity_error(ocs):
    make_agent("10.0.0.1", 2886)
    with pytest.raises(peewee.IntegrityError):
        make_agent("10.0.0.1", 2886)
    with mysql_error(1062, "Duplicate entry '10.0.0.1-2886' for key 'registry_agent_ip_port'"):
        make_agent("10.0.0.1", 2886)


def test_missing_table_is_1146(ocs):
    conn = ocs.connect()
    with mysql_error(1146, f"Table '{DATABASE}.no_such_table' doesn't exist"):
        execute(conn, "SELECT * FROM no_such_table")
    with mysql_error(1146, f"Table '{DATABASE}.no_such_table' doesn't exist"):
        execute(conn, "INSERT INTO no_such_table (id) VALUES (1)")
    with pytest.raises(peewee.ProgrammingError):
        ocs.db.execute_sql("UPDATE no_such_table SET id = 2")


def test_syntax_error_is_1064(ocs):
    conn = ocs.connect()
    with mysql_error(1064, SYNTAX_ERROR) as error:
        execute(conn, "SELEC 1")
    assert error.value.args[1].endswith("' at line 1")
    with mysql_error(1064, SYNTAX_ERROR):
        execute(conn, "SELECT * FROM registry_agent WHERE")


def test_existing_and_missing_schema_objects(ocs):
    conn = ocs.connect()
    with mysql_error(1050, "Table 'registry_agent' already exists"):
        execute(conn, "CREATE TABLE registry_agent (id INT PRIMARY KEY)")
    with mysql_error(1051, f"Unknown table '{DATABASE}.no_such_table'"):
        execute(conn, "DROP TABLE no_such_table")
    with mysql_error(1007, f"Can't create database '{DATABASE}'; database exists"):
        execute(conn, f"CREATE DATABASE {DATABASE}")
    execute(conn, f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    execute(conn, "DROP TABLE IF EXISTS no_such_table")
    assert RegistryAgent.table_exists()


def test_unknown_database_on_connect_is_1049(target, store_schema):
    with mysql_error(1049, "Unknown database 'no_such_db'"):
        target.connect(database="no_such_db")


def test_wrong_password_is_1045(target):
    # seekdb masks the client host as 'xxx.xxx.xxx.xxx'; the store reads only the code.
    with mysql_error(1045, "Access denied for user 'root'@"):
        target.connect(database=None, password="not-the-password")
