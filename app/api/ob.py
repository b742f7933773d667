"""The OceanBase cluster API: scale-out and its precheck."""
from __future__ import annotations

from flask import Blueprint, current_app

from app import cluster_engine
from app.errors import ok
from app.schemas import bind
from app.schemas.scale_out import scale_out_request_schema
from app.scaleout import precheck_report
from app.scaleout import service

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
