"""The OceanBase cluster API: scale-out and its precheck."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from app import cluster_engine
from app.errors import ok
from app.schemas import bind
from app.schemas.scale_out import scale_out_request_schema
from app.scaleout import precheck_report
from app.scaleout import service
from app.schemas.scale_in import scale_in_request_schema
from app.scalein import service as scale_in_service

bp = Blueprint("ob", __name__, url_prefix="/api/v1/ob")


@bp.post("/scale_out")
def scale_out():
    """Validate, create the 'Cluster scale out' DAG, return it without details."""
    req = service.from_body(bind(scale_out_request_schema))
    return ok(service.scale_out(cluster_engine(), req, current_app.config))


@bp.post("/scale_out/precheck")
def scale_out_precheck():
    """Run every check of a scale-out without creating anything."""
    req = service.from_body(bind(scale_out_request_schema))
    return ok(precheck_report.precheck(cluster_engine(), req, current_app.config))


@bp.post("/scale_in")
def scale_in():
    """Validate, create the 'Cluster scale in' DAG; 204 when the server is not in the cluster."""
    req = scale_in_service.from_body(bind(scale_in_request_schema))
    dag = scale_in_service.scale_in(cluster_engine(), req, current_app.config)
    return Response(status=204) if dag is None else ok(dag)
