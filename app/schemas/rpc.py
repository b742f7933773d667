"""Strict schemas of the project's own agent-to-agent routes."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields

from app.schemas.scale_out import AgentInfoSchema, ConfigValue, DirsSchema


class HostPrecheckSchema(Schema):
    class Meta:
        unknown = RAISE

    agentInfo = fields.Nested(AgentInfoSchema, required=True)  # noqa: N815
    obConfigs = fields.Dict(keys=fields.String(), values=ConfigValue(), required=True)  # noqa: N815
    dirs = fields.Nested(DirsSchema, required=True)


host_precheck_schema = HostPrecheckSchema()


class RootPasswordSchema(Schema):
    """`{"password": "<new root@sys password>"}` (in the encrypted body, never a query)."""

    class Meta:
        unknown = RAISE

    password = fields.String(required=True)


root_password_schema = RootPasswordSchema()
