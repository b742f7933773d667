"""The task API (wire spec §7): DAG, node and sub-task getters, operators, maintenance lists."""
from __future__ import annotations

from flask import Blueprint, Response, request

from app import cluster_engine, dag_engine
from app.dags import Engines
from app.dag.template import SCOPE_AGENT, SCOPE_CLUSTER
from app.errors import ApiError, ok
from app.node import dag_access
from app.schemas import bind
from app.schemas.task import OPERATOR_SCHEMA, list_limit, show_details

bp = Blueprint("task", __name__, url_prefix="/api/v1/task")


def _details() -> bool:
    return show_details(request.args)


def _engines() -> Engines:
    return Engines(dag_engine(), cluster_engine())


def _contents(dags) -> Response:
    details, engines = _details(), _engines()

    def view(dag):
        engine = engines.cluster if dag.scope == SCOPE_CLUSTER else engines.agent
        return engine.views.dag_dto(dag, details)

    return ok({"contents": [view(d) for d in dags]})


@bp.get("/dag/<generic_id>")
def get_dag(generic_id: str) -> Response:
    """One DAG, with nodes and sub-tasks unless show_details is false."""
    engine, dag = dag_access.dag_by_generic_id(_engines(), generic_id)
    return ok(engine.views.dag_dto(dag, _details()))


@bp.post("/dag/<generic_id>")
def operate_dag(generic_id: str) -> Response:
    """RETRY / ROLLBACK / CANCEL / PASS; committed before the 200."""
    body = bind(OPERATOR_SCHEMA)
    engine, dag = dag_access.dag_by_generic_id(_engines(), generic_id)
    engine.operate(dag.id, body["operator"], propagate=body["propagate"])
    return ok()


@bp.get("/node/<generic_id>")
def get_node(generic_id: str) -> Response:
    """One node, with its sub-tasks and merged data unless show_details is false."""
    engine, dag, node = dag_access.node_by_generic_id(_engines(), generic_id)
    return ok(engine.views.node_dto(dag, node, _details()))


@bp.post("/node/<generic_id>")
def operate_node(generic_id: str) -> Response:
    """PASS one failed node."""
    body = bind(OPERATOR_SCHEMA)
    engine, _, node = dag_access.node_by_generic_id(_engines(), generic_id)
    engine.operate_node(node.id, body["operator"])
    return ok()


@bp.get("/sub_task/<generic_id>")
def get_sub_task(generic_id: str) -> Response:
    """One sub-task with its own additional_data and logs."""
    engine, dag, sub_task = dag_access.sub_task_by_generic_id(_engines(), generic_id)
    logs = [entry.log_content for entry in engine.sub_task_logs(sub_task)]
    return ok(engine.views.sub_task_dto(dag, sub_task, logs))


@bp.get("/sub_task/<generic_id>/logs")
def get_sub_task_logs(generic_id: str) -> Response:
    """A sub-task's log entries."""
    engine, _, sub_task = dag_access.sub_task_by_generic_id(_engines(), generic_id)
    return ok({"contents": [engine.views.log_dto(e) for e in engine.sub_task_logs(sub_task)]})


@bp.get("/dag/maintain/agent")
def last_agent_maintenance() -> Response:
    """The last local maintenance DAG, finished or not."""
    engine = dag_engine()
    dag = engine.last_maintenance_dag(SCOPE_AGENT)
    if dag is None:
        raise ApiError("Task.NotFound", "Task not found: Agent is not under maintenance")
    return ok(engine.views.dag_dto(dag, _details()))


@bp.get("/dag/maintain/ob")
def last_cluster_maintenance() -> Response:
    """The last cluster maintenance DAG, plus `contents` holding it (Project rule)."""
    dag = dag_access.last_cluster_maintenance(_engines())
    if dag is None:
        raise ApiError("Task.NotFound", "Task not found: Cluster is not under maintenance")
    body = cluster_engine().views.dag_dto(dag, _details())
    return ok({**body, "contents": [body]})


@bp.get("/dag/maintain/agents")
def last_maintenance_per_agent() -> Response:
    """This agent's last local maintenance DAG as a list (obscale does not forward)."""
    dag = dag_engine().last_maintenance_dag(SCOPE_AGENT)
    return _contents([dag] if dag else [])


@bp.get("/dag/unfinish")
def unfinished() -> Response:
    """Unfinished cluster and local DAGs."""
    return _contents(dag_access.unfinished_dags(_engines(), (SCOPE_CLUSTER, SCOPE_AGENT)))


@bp.get("/dag/ob/unfinish")
def cluster_unfinished() -> Response:
    """Unfinished cluster DAGs ([] on an agent that is not a cluster member)."""
    return _contents(dag_access.cluster_unfinished_dags(_engines()))


@bp.get("/dag/agent/unfinish")
def agent_unfinished() -> Response:
    """Unfinished local DAGs."""
    return _contents(dag_access.unfinished_dags(_engines(), (SCOPE_AGENT,)))


def _history(scope: str) -> Response:
    """A scope's newest DAGs, each with `holds_lock` (true for the DAG holding its maintenance
    lock); the query is checked before anything is read."""
    details, limit = _details(), list_limit(request.args)
    engine, dags, holder = dag_access.recent_dags(_engines(), scope, limit)
    holder_id = holder.id if holder is not None else None
    return ok({"contents": [{**engine.views.dag_dto(dag, details), "holds_lock": dag.id == holder_id}
                            for dag in dags]})


@bp.get("/dags/ob")
def cluster_dags() -> Response:
    """The cluster's DAGs, newest first, at most `limit` ([] on an agent that is not a member)."""
    return _history(SCOPE_CLUSTER)


@bp.get("/dags/agent")
def agent_dags() -> Response:
    """This agent's own (local) DAGs, newest first, at most `limit`."""
    return _history(SCOPE_AGENT)
