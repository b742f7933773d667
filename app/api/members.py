"""Who the cluster is made of: `GET /api/v1/ob/info` (the SDK's get_ob_info) and `/ob/agents`."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from app import cluster_engine
from app.errors import ok
from app.scaleout import topology

bp = Blueprint("members", __name__, url_prefix="/api/v1/ob")


@bp.get("/info")
def ob_info() -> Response:
    """Agents, servers and zones; an agent outside a cluster answers with itself alone."""
    return ok(topology.ob_info(cluster_engine().store, current_app.config))


@bp.get("/agents")
def ob_agents() -> Response:
    """The agent registry with each agent's identity and version."""
    return ok({"contents": topology.agents(cluster_engine().store, current_app.config)})
