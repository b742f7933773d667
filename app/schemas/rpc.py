"""Strict schemas of the project's own agent-to-agent routes."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields

from app.schemas.scale_out import AgentInfoSchema, ConfigValue, DirsSchema, StrictInteger


class RegistryRowSchema(Schema):
    class Meta:
        unknown = RAISE

    ip = fields.String(required=True)
    port = StrictInteger(required=True)
    identity = fields.String(required=True)
    zone = fields.String(required=True)
    mysql_port = StrictInteger(required=True)
    rpc_port = StrictInteger(required=True)
    home_path = fields.String(load_default="")
    version = fields.String(load_default="")
    os = fields.String(load_default="")
    architecture = fields.String(load_default="")
    public_key = fields.String(load_default="")
    dag_id = fields.String(load_default="")


class HostPrecheckSchema(Schema):
    class Meta:
        unknown = RAISE

    agentInfo = fields.Nested(AgentInfoSchema, required=True)  # noqa: N815
    obConfigs = fields.Dict(keys=fields.String(), values=ConfigValue(), required=True)  # noqa: N815
    dirs = fields.Nested(DirsSchema, required=True)


registry_row_schema = RegistryRowSchema()
host_precheck_schema = HostPrecheckSchema()
