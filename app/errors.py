"""ApiError, the error catalogue, and the one place that builds the response envelope.

Flask is imported where a response is built, not at the top: the consumer raises ApiError too
(through app.peer) and must not load the web stack for it."""
from __future__ import annotations

import json
import logging
import re
import secrets
import sqlite3
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from peewee import DatabaseError

from app.dag.errors import DagError, InvalidId, LockHeld, OperatorRefused

if TYPE_CHECKING:  # pragma: no cover - typing only
    from flask import Flask, Response
    from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# errCode -> (HTTP status, legacy numeric code; 0 = omitted).
CATALOGUE: dict[str, tuple[int, int]] = {
    "Common.NotFound": (404, 0),
    "Request.Method.NotSupport": (405, 0),
    "Request.Body.TooLarge": (413, 0),
    "Request.Timeout": (408, 0),
    "Common.BindJsonFailed": (400, 0),
    "Common.IllegalArgument": (400, 0),
    "Common.InvalidPort": (400, 0),
    "Common.InvalidIp": (400, 0),
    "Common.DirNotEmpty": (400, 0),
    "Common.Unexpected": (500, 0),
    "Request.Header.NotFound": (400, 0),
    "Security.Authentication.Header.DecryptError": (401, 1),
    "Security.Authentication.Timestamp.Invalid": (401, 10008),
    "Security.Authentication.Expired": (401, 10008),
    "Security.Authentication.Replay": (401, 10008),
    "Security.Authentication.Header.UriMismatch": (401, 10008),
    "Security.Authentication.IncorrectOceanbasePassword": (401, 10008),
    "Security.Authentication.IncorrectAgentPassword": (401, 10008),
    "Security.Authentication.WithAgentPassword": (401, 10008),
    "Security.Authentication.WithOceanBasePassword": (401, 10008),
    "Security.Authentication.Unauthorized": (401, 10008),
    "Agent.Identify.NotSupportOperation": (400, 0),
    "Agent.RPC.RequestFailed": (500, 0),
    "Agent.RPC.RequestError": (500, 0),
    "Agent.OB.Version.Inconsistent": (400, 0),
    "OB.Cluster.ScaleOutHigherVersion": (400, 0),
    "OB.Cluster.ScaleOutLowerVersion": (400, 0),
    "Agent.AlreadyExists": (500, 0),
    "OB.Cluster.UnderMaintenanceWithDag": (500, 0),
    "OB.Cluster.UnderMaintenance": (500, 0),
    "Agent.UnderMaintenanceDag": (500, 0),
    "Agent.UnderMaintenance": (500, 0),
    "MySQL.Error": (400, 0),
    "Task.GenericID.Invalid": (400, 0),
    "Task.NotFound": (404, 0),
    "Task.Dag.Operator.NotSupport": (400, 0),
    "Task.Dag.Operator.RetryNotFailedDag": (400, 0),
    "Task.Dag.Operator.RetryNotAllowed": (400, 0),
    "Task.Dag.Operator.RollbackNotFailedDag": (400, 0),
    "Task.Dag.Operator.RollbackNotAllowed": (400, 0),
    "Task.Dag.Operator.CancelFinishedDag": (400, 0),
    "Task.Dag.Operator.CancelNotAllowed": (400, 0),
    "Task.Dag.Operator.PassNotFailedDag": (400, 0),
    "Task.Dag.Operator.PassNotAllowed": (400, 0),
    "Task.Node.Operator.NotSupport": (400, 0),
    "Task.Node.Operator.PassNotFailedDag": (400, 0),
    "Task.Node.Operator.PassNotFailedNode": (400, 0),
    "Task.Node.Operator.PassNotAllowed": (400, 0),
    "Admin.Health.Down": (503, 0),
    "OB.ClusterStore.Unavailable": (503, 0),
    "Agent.State.Unavailable": (503, 0),
    "OB.Cluster.ScaleInLastServer": (400, 0),
    "OB.Cluster.ScaleInZoneKeepsUnits": (400, 0),
    "OB.Cluster.ScaleInNoOtherMember": (400, 0),
    "OB.Cluster.ScaleInServerAlive": (400, 0),
    "OB.Zone.NotExist": (404, 0),
    "OB.Zone.NotEmpty": (400, 0),
    "OB.Zone.OwnZone": (400, 0),
}

UNEXPECTED_MESSAGE = "Unexpected error: Internal Server Error"
_TRACE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ApiError(Exception):
    """An error that reaches the client as the envelope's `error` object."""

    def __init__(self, err_code: str, message: str, status: int | None = None,
                 sub_errors: list[dict] | None = None, code: int | None = None):
        super().__init__(message)
        default_status, default_code = CATALOGUE.get(err_code, (500, 0))
        self.err_code = err_code
        self.message = message
        self.status = status if status is not None else default_status
        self.code = code if code is not None else default_code
        self.sub_errors = sub_errors

    def to_dict(self) -> dict[str, Any]:
        """The `error` object of the envelope."""
        body: dict[str, Any] = {}
        if self.code:
            body["code"] = self.code
        body["errCode"] = self.err_code
        body["message"] = self.message
        if self.sub_errors is not None:
            body["subErrors"] = self.sub_errors
        return body


def rfc3339_now() -> str:
    """Current local time, RFC 3339 with microseconds and an explicit offset."""
    return datetime.now().astimezone().isoformat(timespec="microseconds")


def trace_id_for(incoming: str | None) -> str:
    """Echo a well-formed incoming trace id, otherwise make a fresh one."""
    if incoming and _TRACE_ID.match(incoming):
        return incoming
    return secrets.token_hex(8)


def begin_request() -> None:
    """Stamp the request with its start time and trace id before anything else runs."""
    from flask import g, request

    g.started = time.monotonic()
    g.trace_id = trace_id_for(request.headers.get("X-OBSHELL-Trace-ID"))


def envelope(status: int, data: Any = None, error: ApiError | None = None,
             with_data: bool = True) -> Response:
    """Build the JSON envelope every /api and /rpc response uses."""
    from flask import Response, g

    started = getattr(g, "started", None)
    duration = int((time.monotonic() - started) * 1000) if started is not None else 0
    body: dict[str, Any] = {
        "successful": status < 400,
        "timestamp": rfc3339_now(),
        "duration": duration,
        "status": status,
        "traceId": getattr(g, "trace_id", None) or secrets.token_hex(8),
    }
    if error is not None:
        body["error"] = error.to_dict()
    elif with_data and data is not None:
        body["data"] = data
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    mimetype="application/json")


def ok(data: Any = None) -> Response:
    """200 with `data` (omitted when None)."""
    return envelope(200, data=data)


def error_response(err: ApiError) -> Response:
    """The envelope for an ApiError."""
    return envelope(err.status, error=err)


def _http_error(exc: HTTPException) -> Response:
    from flask import g, request

    if exc.code == 404:
        err = ApiError("Common.NotFound", "Element not found: 404 not found")
    elif exc.code == 405:
        err = ApiError("Request.Method.NotSupport", f"{request.method} method is not supported")
    elif exc.code == 413:
        err = ApiError("Request.Body.TooLarge", "Request body too large: limit is 1048576 bytes")
    elif exc.code == 408:
        err = ApiError("Request.Timeout", f"Request timeout: {exc.description}")
    elif exc.code is not None and exc.code < 500:
        err = ApiError("Common.IllegalArgument", f"Illegal argument: {exc.description}",
                       status=exc.code)
    else:
        log.error("HTTP %s in %s %s (trace %s)", exc.code, request.method, request.path,
                  getattr(g, "trace_id", ""))
        err = ApiError("Common.Unexpected", UNEXPECTED_MESSAGE)
    return error_response(err)


def engine_error(exc: DagError) -> ApiError:
    """The wire error for what the DAG engine refused (the one place that maps them)."""
    if isinstance(exc, OperatorRefused):
        on = "Node" if exc.on_node else "Dag"
        return ApiError(f"Task.{on}.Operator.{exc.reason}", str(exc))
    if isinstance(exc, InvalidId):
        return ApiError("Task.GenericID.Invalid", str(exc))
    if isinstance(exc, LockHeld):  # operations catch it to answer in their own words first
        code = "Agent.UnderMaintenanceDag" if exc.scope == "agent" else \
            "OB.Cluster.UnderMaintenanceWithDag"
        return ApiError(code, str(exc))
    return ApiError("Task.NotFound", str(exc))


def _engine_error(exc: DagError) -> Response:
    return error_response(engine_error(exc))


def cluster_store_error(exc: BaseException) -> ApiError | None:
    """The envelope for a failure of the cluster store (OceanBase over PyMySQL), or None."""
    origin = exc if type(exc).__module__.startswith("pymysql") else exc.__context__
    if origin is None or not type(origin).__module__.startswith("pymysql"):
        return None
    args = [str(arg) for arg in getattr(origin, "args", ())[:2] if str(arg) not in ("", "0")]
    detail = ": ".join(args) or f"{type(origin).__name__} (the connection was lost or timed out)"
    if getattr(origin, "args", (None,))[:1] == (1045,):
        return ApiError("OB.ClusterStore.Unavailable", "The cluster store (database ocs in "
                        "OceanBase) refused the root@sys password this agent has recorded (1045); "
                        "if it was changed with ALTER USER, record the new one on every member "
                        "with `obscale root-password`")
    return ApiError("OB.ClusterStore.Unavailable", "The cluster store (database ocs in OceanBase) "
                    f"did not answer: {detail}; another member of the cluster may, or try again "
                    "once the local observer serves")


def _unexpected(exc: Exception) -> Response:
    from flask import g, request

    store_error = cluster_store_error(exc)
    if store_error is not None:
        log.warning("cluster store error in %s %s: %s", request.method, request.path,
                    store_error.message)
        return error_response(store_error)
    if isinstance(exc, (sqlite3.Error, DatabaseError)):
        log.error("agent state error in %s %s: %s", request.method, request.path, exc)
        return error_response(ApiError(
            "Agent.State.Unavailable", f"This agent cannot use its state database "
            f"({type(exc).__name__}: {exc}); GET /api/v1/status says the same, and the agent "
            "log names the file"))
    log.exception("unexpected error in %s %s (trace %s)", request.method, request.path,
                  getattr(g, "trace_id", ""))
    return error_response(ApiError("Common.Unexpected", UNEXPECTED_MESSAGE))


def register_error_handlers(app: Flask) -> None:
    """Turn every failure, Flask's own included, into the envelope."""
    from werkzeug.exceptions import HTTPException

    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(DagError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
