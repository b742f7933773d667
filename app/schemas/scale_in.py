"""Scale-in bodies: the public API (snake_case, as obshell's SDK sends it; extra keys tolerated)
and the agent RPC to the removed node (strict)."""
from __future__ import annotations

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from app.schemas.scale_out import AgentInfoSchema, NonEmptyString


class ScaleInRequestSchema(Schema):
    """Body of POST /api/v1/ob/scale_in and DELETE /api/v1/observer."""

    class Meta:
        unknown = EXCLUDE

    agent_info = fields.Nested(AgentInfoSchema, required=True)
    force_kill = fields.Boolean(load_default=False, allow_none=True)
    # obscale's own: also remove the node's data directories (left in place by default).
    remove_data = fields.Boolean(load_default=False, allow_none=True)


scale_in_request_schema = ScaleInRequestSchema()


class ScaleInRpcSchema(Schema):
    """Body of POST /rpc/v1/ob/scale_in (coordinator -> the removed node's agent)."""

    class Meta:
        unknown = RAISE

    action = fields.String(required=True, validate=validate.OneOf(("begin", "abort", "finish")))
    coordinateDagId = NonEmptyString(required=True)  # noqa: N815 - wire name
    allAgents = fields.List(fields.Nested(AgentInfoSchema), required=True)  # noqa: N815
    kill = fields.Boolean(load_default=False)
    removeData = fields.Boolean(load_default=False)  # noqa: N815


scale_in_rpc_schema = ScaleInRpcSchema()
