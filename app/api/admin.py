"""Verified admin routes: health report, recording a rotated root password, and a minimal ping
(used by the latency benchmark)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from app.node import health
from app.errors import ApiError, ok
from app.node import root_password
from app.schemas import bind, json_body
from app.schemas.rpc import root_password_schema

bp = Blueprint("admin", __name__)


@bp.get("/api/v1/admin/health")
def admin_health() -> Response:
    """200 with every component when ok or degraded; 503 Admin.Health.Down when down."""
    report = health.health_report(current_app.config)
    if report["status"] == health.DOWN:
        names = ", ".join(health.down_components(report))
        raise ApiError("Admin.Health.Down", f"Agent health is down: {names}")
    return ok(report)


@bp.post("/api/v1/agent/root_password")
def record_root_password() -> Response:
    """Record the cluster's new root@sys password, checked by a login first (authenticated
    with the password recorded so far)."""
    body = bind(root_password_schema)
    return ok(root_password.record_new_root_password(current_app.config, body["password"]))


@bp.route("/api/v1/admin/ping", methods=["GET", "POST"])
def admin_ping() -> Response:
    """Verified no-op: proves the caller's credentials; a POST body must be a JSON object."""
    json_body()
    return ok({"pong": True, "auth": g.auth_kind})
