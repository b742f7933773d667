"""The open routes (wire spec §4): /api/v1/info, /secret, /status, /time and /healthz."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app.node import status as agent_status
from app.errors import ok, rfc3339_now

bp = Blueprint("info", __name__)


@bp.get("/api/v1/info")
def info() -> Response:
    """Identity, versions and addresses; unauthenticated."""
    return ok(agent_status.info_dto(current_app.config))


@bp.get("/api/v1/secret")
def secret() -> Response:
    """The agent's public key (base64 PKCS#1 DER)."""
    return ok(agent_status.secret_dto(current_app.config))


@bp.get("/api/v1/status")
def status() -> Response:
    """Process and observer state."""
    return ok(agent_status.status_dto(current_app.config))


@bp.get("/api/v1/time")
def server_time() -> Response:
    """Server time, RFC 3339 (for diagnosing clock skew)."""
    return ok(rfc3339_now())


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: plain {"status": "ok"} without the envelope (it is not an /api route)."""
    return jsonify(status="ok")
