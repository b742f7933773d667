"""The conformance suite runs only for the targets named in OBSCALE_CONFORMANCE_TARGET.

`make test` leaves the variable unset, so nothing here is collected there; `make conformance`
sets it to `seekdb,obemu` and every test runs once per target, seekdb first.
"""
from __future__ import annotations

import os
from typing import Iterator

import pymysql
import pytest
from peewee import MySQLDatabase, sort_models

from app.dag.models import MODELS as DAG_MODELS
from app.models import RegistryAgent
from tests.conformance.targets import DATABASE, TARGET_ENV, Target, open_target, target_names

TARGETS = target_names(os.environ.get(TARGET_ENV, ""))
if not TARGETS:
    collect_ignore_glob = ["test_*.py"]

# The cluster store's tables: the DAG engine's models and the agent registry, as they are.
STORE_MODELS = sort_models([*DAG_MODELS, RegistryAgent])


@pytest.fixture(scope="session", params=TARGETS)
def target(request, tmp_path_factory) -> Iterator[Target]:
    """seekdb or obemu, up for the whole of its half of the run."""
    with open_target(request.param, tmp_path_factory.mktemp(request.param)) as opened:
        yield opened


@pytest.fixture(scope="session")
def store_schema(target: Target) -> list:
    """A fresh `ocs` database with the store's tables, made by peewee's create_tables."""
    conn = target.connect(database=None)
    with conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    db = target.peewee()
    with db.bind_ctx(STORE_MODELS):
        db.create_tables(STORE_MODELS)
    db.close()
    return STORE_MODELS


class Ocs:
    """One test's view of `ocs`: a peewee database bound to the models, plus raw connections."""

    def __init__(self, target: Target):
        self.target = target
        self.db = target.peewee()
        self._connections: list[pymysql.connections.Connection] = []
        self._databases: list[MySQLDatabase] = [self.db]

    def connect(self, observer: int = 0, **kwargs) -> pymysql.connections.Connection:
        """A raw PyMySQL connection on `ocs`, closed when the test ends."""
        conn = self.target.connect(observer, **kwargs)
        self._connections.append(conn)
        return conn

    def peewee(self, observer: int) -> MySQLDatabase:
        """Another peewee database (run queries on it with `query.execute(db)`)."""
        db = self.target.peewee(observer)
        self._databases.append(db)
        return db

    def close(self) -> None:
        """Close everything this test opened, which also ends its open transactions."""
        for conn in self._connections:
            conn.close()
        for db in self._databases:
            db.close()


def clear_tables(target: Target, models: list) -> None:
    """Delete every row, children first, through a fresh connection."""
    conn = target.connect()
    with conn, conn.cursor() as cursor:
        for model in reversed(models):
            cursor.execute(f"DELETE FROM `{model._meta.table_name}`")


@pytest.fixture
def ocs(target: Target, store_schema: list) -> Iterator[Ocs]:
    """Empty store tables, the models bound to observer 0; rows and connections cleaned up."""
    clear_tables(target, store_schema)
    handle = Ocs(target)
    try:
        with handle.db.bind_ctx(store_schema):
            yield handle
    finally:
        handle.close()
        clear_tables(target, store_schema)


@pytest.fixture
def scratch_table(target: Target, store_schema: list) -> Iterator[str]:
    """A name for a table the test creates itself in `ocs`; dropped afterwards."""
    name = "conformance_scratch"
    drop = f"DROP TABLE IF EXISTS `{name}`"
    conn = target.connect()
    with conn, conn.cursor() as cursor:
        cursor.execute(drop)
    yield name
    conn = target.connect()
    with conn, conn.cursor() as cursor:
        cursor.execute(drop)


def pytest_report_header(config) -> str:
    return f"conformance targets: {', '.join(TARGETS) or 'none'}"

