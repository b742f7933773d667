"""Scale-out request bodies: the public API (tolerant of extra keys) and the agent RPC (strict)."""
from __future__ import annotations

import math
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates


class StrictInteger(fields.Integer):
    """A JSON integer: no strings, no floats, no booleans."""

    def _deserialize(self, value: Any, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("Not a valid integer.")
        return value


class NonEmptyString(fields.String):
    def _deserialize(self, value: Any, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text == "":
            raise ValidationError("Field may not be empty.")
        return text


class ConfigValue(fields.Field):
    """A config value: a JSON string, or a number coerced to its shortest text."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid string or number.")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValidationError("Not a valid string or number.")
            return str(int(value)) if value.is_integer() else repr(value)
        return str(value)


class AgentInfoSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    ip = NonEmptyString(required=True)
    port = StrictInteger(required=True)


class ScaleOutRequestSchema(Schema):
    """Body of POST /api/v1/ob/scale_out (and /precheck)."""

    class Meta:
        unknown = EXCLUDE

    agentInfo = fields.Nested(AgentInfoSchema, required=True)  # noqa: N815 - wire name
    zone = NonEmptyString(required=True)
    obConfigs = fields.Dict(keys=fields.String(), values=ConfigValue(), required=True)  # noqa: N815
    # null reads as "" (as Go's decoder does); the SDK always sends a string.
    targetAgentPassword = fields.String(load_default="", allow_none=True)  # noqa: N815


class DirsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    homePath = NonEmptyString(required=True)  # noqa: N815
    data_dir = NonEmptyString(required=True)
    redo_dir = NonEmptyString(required=True)
    clog_dir = NonEmptyString(required=True)
    slog_dir = NonEmptyString(required=True)


class TimeoutsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    poll_interval_s = fields.Float()
    deploy_s = fields.Float()
    start_s = fields.Float()
    start_wait_s = fields.Float()
    watch_s = fields.Float()


class ScaleOutRpcSchema(Schema):
    """Body of POST /rpc/v1/ob/scale_out (coordinator -> target)."""

    class Meta:
        # Go coordinators may add fields in newer releases; their decoder ignores unknown keys too.
        unknown = EXCLUDE

    agentInfo = fields.Nested(AgentInfoSchema, required=True)  # noqa: N815
    obConfigs = fields.Dict(keys=fields.String(), values=ConfigValue(), required=True)  # noqa: N815
    zone = NonEmptyString(required=True)
    targetVersion = fields.String(load_default="")  # noqa: N815
    allAgents = fields.List(fields.Nested(AgentInfoSchema), required=True)  # noqa: N815
    dirs = fields.Nested(DirsSchema, required=True)
    coordinateDagId = NonEmptyString(required=True)  # noqa: N815
    rootPwd = fields.String(required=True)  # noqa: N815
    uuid = NonEmptyString(required=True)
    paramExpectDeployNextStage = StrictInteger(required=True)  # noqa: N815
    paramExpectStartNextStage = StrictInteger(required=True)  # noqa: N815
    paramExpectRollbackNextStage = StrictInteger(required=True)  # noqa: N815
    timeouts = fields.Nested(TimeoutsSchema, load_default=None)

    @validates("allAgents")
    def _not_empty(self, value, **kwargs):
        if not value:
            raise ValidationError("Field may not be empty.")


scale_out_request_schema = ScaleOutRequestSchema()
scale_out_rpc_schema = ScaleOutRpcSchema()
