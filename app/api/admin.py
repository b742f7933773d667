"""Verified admin routes: health report and a minimal ping (used by the latency benchmark)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from app.node import health
from app.errors import ApiError, ok
from app.schemas import json_body

bp = Blueprint("admin", __name__)


@bp.get("/api/v1/admin/health")
def admin_health() -> Response:
    """200 with every component when ok or degraded; 503 Admin.Health.Down when down."""
    report = health.health_report(current_app.config)
    if report["status"] == health.DOWN:
        names = ", ".join(health.down_components(report))
        raise ApiError("Admin.Health.Down", f"Agent health is down: {names}")
    return ok(report)


@bp.route("/api/v1/admin/ping", methods=["GET", "POST"])
def admin_ping() -> Response:
    """Verified no-op: proves the caller's credentials; a POST body must be a JSON object."""
    json_body()
    return ok({"pong": True, "auth": g.auth_kind})
