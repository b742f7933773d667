"""Log-in forms, versions and the current database."""
from __future__ import annotations

import re

import pytest

from tests.conformance.expect import execute, per_target, rows, scalar
from tests.conformance.targets import DATABASE


@pytest.mark.parametrize("user", ["root", "root@sys"])
def test_root_logs_in_to_the_sys_tenant(target, store_schema, user):
    conn = target.connect(user=user)
    with conn:
        assert rows(conn, "SELECT DATABASE(), 1") == [(DATABASE, 1)]


def test_versions(target):
    conn = target.connect(database=None)
    with conn:
        version, ob_version = rows(conn, "SELECT version(), ob_version()")[0]
    assert re.match(r"5\.7\.25-OceanBase[ _]", version), version
    # obemu emulates OceanBase CE 4.2.1.2 (OBEMU_VERSION); pylibseekdb 1.4.0.post1 is 4.3.5.3.
    assert ob_version == per_target(target, seekdb="4.3.5.3", obemu="4.2.1.2")
    # The handshake carries MySQL's version only; clients such as peewee parse it.
    assert conn.server_version == "5.7.25"


def test_use_switches_the_current_database(target, store_schema):
    conn = target.connect(database=None)
    with conn:
        assert scalar(conn, "SELECT DATABASE()") is None
        execute(conn, f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        execute(conn, f"USE {DATABASE}")
        assert scalar(conn, "SELECT DATABASE()") == DATABASE
        assert scalar(conn, "SELECT COUNT(*) FROM registry_agent") >= 0
