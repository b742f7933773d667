"""The task API (wire spec §7): DAG, node and sub-task getters, operators, maintenance lists."""
from __future__ import annotations

from flask import Blueprint, Response, request

from app.dag import engine, query
from app.dag.dto import dag_dto, log_dto, node_dto, sub_task_dto
from app.dag.settings import configure_engine
from app.dag.template import SCOPE_AGENT, SCOPE_CLUSTER
from app.errors import ApiError, ok
from app.schemas import bind
from app.schemas.task import OPERATOR_SCHEMA, show_details
from app.taskqueue import configure_queue

bp = Blueprint("task", __name__, url_prefix="/api/v1/task")


@bp.record_once
def _bind_engine(state) -> None:
    # The web process enqueues into the consumer's queue file and formats ids with its address.
    config = state.app.config
    configure_engine(config)
    if config.get("QUEUE_DATABASE"):
        configure_queue(config["QUEUE_DATABASE"])


def _details() -> bool:
    return show_details(request.args)


def _contents(dags) -> Response:
    details = _details()
    return ok({"contents": [dag_dto(d, details) for d in dags]})


@bp.get("/dag/<generic_id>")
def get_dag(generic_id: str) -> Response:
    """One DAG, with nodes and sub-tasks unless show_details is false."""
    return ok(dag_dto(query.dag_by_generic_id(generic_id), _details()))


@bp.post("/dag/<generic_id>")
def operate_dag(generic_id: str) -> Response:
    """RETRY / ROLLBACK / CANCEL / PASS; committed before the 200."""
    body = bind(OPERATOR_SCHEMA)
    engine.operate(query.dag_by_generic_id(generic_id).id, body["operator"])
    return ok()


@bp.get("/node/<generic_id>")
def get_node(generic_id: str) -> Response:
    """One node, with its sub-tasks and merged data unless show_details is false."""
    dag, node = query.node_by_generic_id(generic_id)
    return ok(node_dto(dag, node, _details()))


@bp.post("/node/<generic_id>")
def operate_node(generic_id: str) -> Response:
    """PASS one failed node."""
    body = bind(OPERATOR_SCHEMA)
    engine.operate_node(query.node_by_generic_id(generic_id)[1].id, body["operator"])
    return ok()


@bp.get("/sub_task/<generic_id>")
def get_sub_task(generic_id: str) -> Response:
    """One sub-task with its own additional_data and logs."""
    dag, sub_task = query.sub_task_by_generic_id(generic_id)
    logs = [entry.log_content for entry in query.sub_task_logs(sub_task)]
    return ok(sub_task_dto(dag, sub_task, logs))


@bp.get("/sub_task/<generic_id>/logs")
def get_sub_task_logs(generic_id: str) -> Response:
    """A sub-task's log entries."""
    _, sub_task = query.sub_task_by_generic_id(generic_id)
    return ok({"contents": [log_dto(entry) for entry in query.sub_task_logs(sub_task)]})


@bp.get("/dag/maintain/agent")
def last_agent_maintenance() -> Response:
    """The last local maintenance DAG, finished or not."""
    dag = query.last_maintenance_dag(SCOPE_AGENT)
    if dag is None:
        raise ApiError("Task.NotFound", "Task not found: Agent is not under maintenance")
    return ok(dag_dto(dag, _details()))


@bp.get("/dag/maintain/ob")
def last_cluster_maintenance() -> Response:
    """The last cluster maintenance DAG, plus `contents` holding it (Project rule)."""
    dag = query.last_maintenance_dag(SCOPE_CLUSTER)
    if dag is None:
        raise ApiError("Task.NotFound", "Task not found: Cluster is not under maintenance")
    body = dag_dto(dag, _details())
    return ok({**body, "contents": [body]})


@bp.get("/dag/maintain/agents")
def last_maintenance_per_agent() -> Response:
    """This agent's last local maintenance DAG as a list (obscale does not forward)."""
    dag = query.last_maintenance_dag(SCOPE_AGENT)
    return _contents([dag] if dag else [])


@bp.get("/dag/unfinish")
def unfinished() -> Response:
    """Unfinished cluster and local DAGs."""
    return _contents(query.unfinished_dags((SCOPE_CLUSTER, SCOPE_AGENT)))


@bp.get("/dag/ob/unfinish")
def cluster_unfinished() -> Response:
    """Unfinished cluster DAGs ([] on an agent that is not a cluster member)."""
    return _contents(query.cluster_unfinished_dags())


@bp.get("/dag/agent/unfinish")
def agent_unfinished() -> Response:
    """Unfinished local DAGs."""
    return _contents(query.unfinished_dags((SCOPE_AGENT,)))
