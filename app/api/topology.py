"""obshell's other topology routes: DELETE /api/v1/observer (scale-in) and
DELETE /api/v1/zone/<name> (zone removal; authenticated like every protected route)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from app import cluster_engine
from app.errors import ok
from app.schemas import bind
from app.schemas.scale_in import scale_in_request_schema
from app.scalein import service

bp = Blueprint("topology", __name__, url_prefix="/api/v1")


@bp.delete("/observer")
def delete_observer():
    """The same as POST /api/v1/ob/scale_in."""
    req = service.from_body(bind(scale_in_request_schema))
    dag = service.scale_in(cluster_engine(), req, current_app.config)
    return Response(status=204) if dag is None else ok(dag)


@bp.delete("/zone/<name>")
def delete_zone(name: str):
    """Create the 'Delete zone' DAG (STOP ZONE, DELETE ZONE)."""
    return ok(service.delete_zone(cluster_engine(), name, current_app.config))
