"""Agent-to-agent routes under /rpc/v1 (verified like every protected route)."""
from __future__ import annotations

from flask import Blueprint, current_app

from app import cluster_engine, dag_engine
from app.errors import ok
from app.node import identity
from app.models import IDENTITY_CLUSTER_AGENT
from app.schemas import bind
from app.schemas.rpc import host_precheck_schema
from app.schemas.scale_in import scale_in_rpc_schema
from app.schemas.scale_out import scale_out_rpc_schema
from app.scaleout import receive, registry
from app.scalein import target as scale_in_target

bp = Blueprint("rpc", __name__, url_prefix="/rpc/v1")


@bp.post("/ob/scale_out")
def scale_out():
    """Coordinator -> target: create the 'Local scale out' DAG (idempotent by uuid)."""
    body = bind(scale_out_rpc_schema)
    return ok(receive.receive_scale_out(dag_engine(), body, current_app.config))


@bp.post("/ob/scale_out/precheck")
def scale_out_precheck():
    """Coordinator -> target: the host checks, changing nothing."""
    body = bind(host_precheck_schema)
    return ok({"checks": receive.host_precheck(body, current_app.config)})


@bp.get("/agent/registry")
def agent_registry():
    """The cluster's agent registry, read from the cluster store ([] for a non-member)."""
    if identity.get_identity().identity != IDENTITY_CLUSTER_AGENT:
        return ok({"contents": []})
    return ok({"contents": registry.rows(cluster_engine().store)})


@bp.post("/ob/scale_in")
def scale_in():
    """Coordinator -> the removed node: begin (SCALING IN), abort, or finish (stop, SINGLE)."""
    body = bind(scale_in_rpc_schema)
    if body["action"] == "begin":
        return ok(scale_in_target.begin(body, current_app.config))
    if body["action"] == "abort":
        return ok(scale_in_target.abort(body, current_app.config))
    return ok(scale_in_target.finish(dag_engine(), body, current_app.config))
