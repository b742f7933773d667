"""The store's peewee models on MySQLDatabase: schema, round trips, inserts, upserts, queries."""
from __future__ import annotations

from peewee import fn

from app.dag.models import (PENDING, READY, RUNNING, SUCCEED, Dag, DagNode, MaintenanceLock,
                            SubTask, SubTaskLog, dumps)
from app.models import RegistryAgent
from tests.conformance.conftest import STORE_MODELS
from tests.conformance.dags import add_log, make_agent, make_dag
from tests.conformance.expect import execute, mysql_error, rows

STORE_TABLES = {"dag", "dag_node", "sub_task", "sub_task_log", "maintenance_lock",
                "registry_agent"}


def test_create_tables_makes_the_store_tables_and_is_idempotent(ocs):
    assert STORE_TABLES <= set(ocs.db.get_tables())
    assert all(model.table_exists() for model in STORE_MODELS)
    ocs.db.create_tables(STORE_MODELS)  # safe=True: a second run (another agent) is a no-op
    assert STORE_TABLES <= set(ocs.db.get_tables())


def test_a_dag_round_trips_every_column_type(ocs):
    params = {"zone": "zone1", "note": "Zoné ✓ 😀", "servers": ["10.0.0.2:2882"]}
    dag = Dag.create(name="Scale out", state=READY, operator="RUN", scope="cluster",
                     max_stage=3, maintenance_type=1, params=dumps(params), context="{}")
    stored = Dag.get_by_id(dag.id)
    assert (stored.name, stored.state, stored.stage, stored.max_stage) == ("Scale out", READY, 1, 3)
    assert stored.params_dict() == params
    assert stored.cancel_requested is False
    assert stored.propagate_pending is None and stored.lock_key is None
    node = DagNode.create(dag=dag, seq=1, name="stage 1", state=PENDING, operator="RUN")
    task = SubTask.create(dag=dag, node=node, seq=1, name="task", state=PENDING, operator="RUN")
    stored_task = SubTask.get_by_id(task.id)
    assert (stored_task.can_retry, stored_task.can_pass) == (True, False)
    assert (stored_task.local_data, stored_task.agent_port) == ("{}", 0)
    assert stored_task.node.dag.id == dag.id


def test_float_columns_are_single_precision(ocs):
    # peewee's FloatField is MySQL FLOAT (4 bytes); the server sends 6 significant digits, so
    # an epoch time loses minutes. The engine's *_time/*_at columns are FloatFields.
    epoch = 1796165729.66591
    dag = make_dag()
    Dag.update(start_time=epoch, end_time=0.5).where(Dag.id == dag.id).execute()
    stored = Dag.get_by_id(dag.id)
    assert stored.start_time == float(f"{epoch:.6g}") == 1796170000.0
    assert stored.end_time == 0.5
    assert Dag.select().where(Dag.start_time == epoch).count() == 0


def test_insert_many_is_one_multi_row_insert(ocs):
    first_id = RegistryAgent.insert_many(
        [{"ip": f"10.0.0.{n}", "port": 2886, "zone": f"zone{n}"} for n in (1, 2, 3)]).execute()
    agents = list(RegistryAgent.select().order_by(RegistryAgent.id))
    assert [a.ip for a in agents] == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert first_id == agents[0].id


def test_registry_upsert_is_insert_on_duplicate_key_update(ocs):
    def upsert(zone: str, version: str):
        values = {"ip": "10.0.0.1", "port": 2886, "zone": zone, "version": version}
        return RegistryAgent.insert(**values).on_conflict(
            update={RegistryAgent.zone: zone, RegistryAgent.version: version})

    # MySQL's affected rows: 1 inserted, 2 updated, 0 when the update changes nothing.
    assert ocs.db.execute(upsert("zone1", "4.2.1.2")).rowcount == 1
    assert ocs.db.execute(upsert("zone2", "4.2.1.2")).rowcount == 2
    assert ocs.db.execute(upsert("zone2", "4.2.1.2")).rowcount == 0
    preserve = RegistryAgent.insert(ip="10.0.0.1", port=2886, zone="zone3").on_conflict(
        preserve=[RegistryAgent.zone])  # ON DUPLICATE KEY UPDATE zone = VALUES(zone)
    assert ocs.db.execute(preserve).rowcount == 2
    assert [(a.zone, a.version) for a in RegistryAgent.select()] == [("zone3", "4.2.1.2")]


def test_lock_take_is_replace_into(ocs):
    def take(dag_id: int):
        return MaintenanceLock.insert(scope="cluster", dag_id=dag_id,
                                      acquired_at=1.0).on_conflict_replace()

    assert ocs.db.execute(take(1)).rowcount == 1
    assert ocs.db.execute(take(2)).rowcount == 2  # REPLACE: one row deleted, one inserted
    assert [(row.scope, row.dag_id) for row in MaintenanceLock.select()] == [("cluster", 2)]


def test_engine_queries(ocs):
    older = make_dag("Older")
    dag = make_dag(stages=2, tasks_per_stage=2)
    Dag.update(state=SUCCEED).where(Dag.id == older.id).execute()
    first = SubTask.select().where(SubTask.dag == dag.id).order_by(SubTask.id).first()
    for n in range(4):
        add_log(first, f"line {n}", execute_times=1 + n % 2)
    MaintenanceLock.create(scope="cluster", dag_id=dag.id)
    MaintenanceLock.create(scope="agent", dag_id=None)

    second_stage = (SubTask.select().join(DagNode).where((SubTask.dag == dag.id)
                    & (DagNode.seq == 2)).order_by(SubTask.seq))
    assert [t.name for t in second_stage] == ["task 2.1", "task 2.2"]
    per_node = (SubTask.select(DagNode.seq, fn.COUNT(SubTask.id)).join(DagNode)
                .where(SubTask.dag == dag.id).group_by(DagNode.seq).order_by(DagNode.seq).tuples())
    assert list(per_node) == [(1, 2), (2, 2)]
    assert Dag.select().order_by(Dag.id.desc()).first().id == dag.id
    assert [d.id for d in Dag.select().where(Dag.state.in_([READY, RUNNING]))] == [dag.id]
    held = MaintenanceLock.select().where(MaintenanceLock.dag_id.is_null(False))
    assert [row.scope for row in held] == ["cluster"]
    assert Dag.select(Dag.context).where(Dag.id == dag.id).scalar() == "{}"
    assert SubTask.select(fn.MAX(SubTask.seq)).where(SubTask.dag == dag.id).scalar() == 2
    page = SubTaskLog.select().order_by(SubTaskLog.id).limit(2).offset(1)
    assert [log.log_content for log in page] == ["line 1", "line 2"]
    assert SubTaskLog.delete().where(SubTaskLog.execute_times == 2).execute() == 2
    assert [log.log_content for log in SubTaskLog.select().order_by(SubTaskLog.id)] == [
        "line 0", "line 2"]


def test_update_and_delete_with_order_by_and_limit(ocs):
    for n in (1, 2, 3):
        make_agent(f"10.0.0.{n}")
    conn = ocs.connect()
    assert execute(conn, "UPDATE registry_agent SET zone = 'z9' ORDER BY id LIMIT 2") == 2
    assert execute(conn, "DELETE FROM registry_agent WHERE zone = 'z9' "
                         "ORDER BY id DESC LIMIT 1") == 1
    assert rows(conn, "SELECT ip, zone FROM registry_agent ORDER BY id") == [
        ("10.0.0.1", "z9"), ("10.0.0.3", "")]


def test_foreign_keys_are_enforced(ocs):
    dag = make_dag(stages=1, tasks_per_stage=1)
    with mysql_error(1452, "Cannot add or update a child row: a foreign key constraint fails"):
        DagNode.create(dag=dag.id + 1000, seq=1, name="orphan", state=PENDING, operator="RUN")
    with mysql_error(1451, "Cannot delete or update a parent row: a foreign key constraint "
                           "fails"):
        Dag.delete().where(Dag.id == dag.id).execute()
