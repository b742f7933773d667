"""The cluster store's migrations on a real (emulated) observer: they give exactly the models'
schema, run twice or by two agents at once without failing, and take obshell's lock row too."""
from __future__ import annotations

import contextlib
import threading

import pytest

from app.clusterdb import STORE_MODELS, cluster_database
from app.config import load_config
from app.dag import lock
from app.dag.errors import LockHeld
from app.dag.store import cluster_store
from app.migrate import available, run_cluster_migrations
from obemu.testing import Fleet

pytestmark = pytest.mark.integration
IP = "127.0.5.1"
PASSWORD = "Root-pw_4"
SCHEMA_QUERY = ("SELECT table_name, column_name, column_type, is_nullable FROM "
                "information_schema.columns WHERE table_schema = %s ORDER BY table_name, "
                "ordinal_position")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    fleet = Fleet(tmp_path_factory.mktemp("cluster-store-schema"))
    try:
        yield fleet.start_cluster(IP, root_password=PASSWORD, cluster="ocsschema", cluster_id=3)
    finally:
        fleet.teardown()


@pytest.fixture
def store(cluster):
    """The cluster store bound to the emulated observer, emptied after the test."""
    config = load_config({"IP": IP}, environ={})
    cluster_database.bind_to(lambda: (IP, cluster.mysql_port, PASSWORD), config)
    yield cluster_store(f"{IP}:2886")
    with contextlib.suppress(Exception):
        cluster_database.close()
    conn = cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS ocs")
            cursor.execute("DROP DATABASE IF EXISTS ocs_models")
    finally:
        conn.close()


def _schema(cluster, database: str) -> list[tuple]:
    conn = cluster.connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(SCHEMA_QUERY, (database,))
            return [row for row in cursor.fetchall() if row[0] != "obscale_schema_migration"]
    finally:
        conn.close()


def test_migrating_an_empty_ocs_gives_the_models_schema(cluster, store):
    assert run_cluster_migrations(cluster_database) == available("app.migrations.cluster")
    assert run_cluster_migrations(cluster_database) == []
    migrated = _schema(cluster, "ocs")
    cluster_database.execute_sql("CREATE DATABASE ocs_models")
    cluster_database.execute_sql("USE ocs_models")
    cluster_database.create_tables(STORE_MODELS)
    cluster_database.execute_sql("USE ocs")
    assert migrated and migrated == _schema(cluster, "ocs_models")


def test_two_agents_migrating_at_once_both_succeed(cluster, store):
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def migrate() -> None:
        try:
            barrier.wait(10)
            run_cluster_migrations(cluster_database)  # connects after creating `ocs`
            cluster_database.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert run_cluster_migrations(cluster_database) == []
    lock_rows = cluster_database.execute_sql(
        "SELECT scope, dag_id FROM obscale_maintenance_lock").fetchall()
    assert list(lock_rows) == [("cluster", None)]


def test_obshell_lock_row_is_taken_and_freed_with_ours(cluster, store):
    run_cluster_migrations(cluster_database)
    cluster_database.execute_sql("CREATE TABLE cluster_status (id INT PRIMARY KEY, status INT)")
    cluster_database.execute_sql("INSERT INTO cluster_status VALUES (1, 1)")

    def obshell_status() -> int:
        return cluster_database.execute_sql("SELECT status FROM cluster_status").fetchone()[0]

    with store.atomic():
        lock.check_free(store, "cluster")
        lock.take(store, "cluster", 41)
    assert obshell_status() == 2
    assert lock.release(store, "cluster", 41) is True
    assert obshell_status() == 1
    cluster_database.execute_sql("UPDATE cluster_status SET status = 2")  # obshell holds it
    with pytest.raises(LockHeld):
        with store.atomic():
            lock.check_free(store, "cluster")
            lock.take(store, "cluster", 42)
    row = cluster_database.execute_sql(
        "SELECT dag_id FROM obscale_maintenance_lock WHERE scope = 'cluster'").fetchone()
    assert row == (None,)  # the whole transaction rolled back
