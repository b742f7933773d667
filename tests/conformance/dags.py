"""Rows of the store's models, made through peewee as the engine makes them."""
from __future__ import annotations

from peewee import Query

from app.dag.models import PENDING, READY, RUN, Dag, DagNode, SubTask, SubTaskLog, dumps
from app.models import RegistryAgent

MAINTENANCE_GLOBAL = 1


def make_dag(name: str = "Scale out", stages: int = 2, tasks_per_stage: int = 2) -> Dag:
    """A READY cluster DAG with PENDING stages and sub-tasks, as the engine creates one."""
    dag = Dag.create(name=name, state=READY, operator=RUN, scope="cluster", max_stage=stages,
                     maintenance_type=MAINTENANCE_GLOBAL,
                     params=dumps({"zone": "zone1", "servers": ["10.0.0.2:2882"]}),
                     context=dumps({}))
    for seq in range(1, stages + 1):
        node = DagNode.create(dag=dag, seq=seq, name=f"stage {seq}", state=PENDING,
                              operator=RUN)
        for task in range(1, tasks_per_stage + 1):
            SubTask.create(dag=dag, node=node, seq=task, name=f"task {seq}.{task}",
                           state=PENDING, operator=RUN)
    return dag


def add_log(sub_task: SubTask, text: str, execute_times: int = 1) -> SubTaskLog:
    """One task_logs line."""
    return SubTaskLog.create(sub_task=sub_task, execute_times=execute_times, log_content=text)


def make_agent(ip: str = "10.0.0.1", port: int = 2886, **fields) -> RegistryAgent:
    """One registry row."""
    return RegistryAgent.create(ip=ip, port=port, **fields)


def run_query(conn, query: Query) -> int:
    """Run a peewee-built statement on a raw PyMySQL connection; return its row count."""
    sql, params = query.sql()
    with conn.cursor() as cursor:
        return cursor.execute(sql, params)
