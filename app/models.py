"""peewee models of the agent's own state; the DAG engine's models live in app/dag/models.py."""
from __future__ import annotations

import time
from typing import Any

from peewee import BigIntegerField, CharField, FloatField, IntegerField, Model, TextField

from app.db import database

IDENTITY_SINGLE = "SINGLE"
IDENTITY_SCALING_OUT = "SCALING OUT"
IDENTITY_SCALING_IN = "SCALING IN"  # a member whose server a scale-in is removing
IDENTITY_CLUSTER_AGENT = "CLUSTER AGENT"
IDENTITY_UNIDENTIFIED = "UNIDENTIFIED"


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class AgentState(BaseModel):
    """The single row describing this agent: identity, cluster membership and secrets at rest."""

    id = IntegerField(primary_key=True)
    identity = CharField(default=IDENTITY_SINGLE)
    zone = CharField(default="")
    cluster_name = CharField(default="")
    cluster_id = BigIntegerField(default=0)
    mysql_port = IntegerField(default=0)
    rpc_port = IntegerField(default=0)
    # Root@sys password encrypted with the agent's own key; NULL = none recorded.
    root_password_enc = TextField(null=True)
    # Agent password as a salted hash; NULL = none set.
    agent_password_hash = TextField(null=True)
    updated_at = FloatField(default=time.time)

    @classmethod
    def load(cls) -> "AgentState":
        """Return the state row, creating the default SINGLE row on first use."""
        state = cls.get_or_none(cls.id == 1)
        if state is None:
            cls.insert(id=1).on_conflict_ignore().execute()
            state = cls.get(cls.id == 1)
        return state


class ReplayEntry(BaseModel):
    """A verified header ciphertext fingerprint, remembered until its Ts expiry."""

    fingerprint = CharField(primary_key=True, max_length=64)
    expires_at = BigIntegerField(index=True)


REGISTRY_FIELDS = ("ip", "port", "identity", "zone", "mysql_port", "rpc_port", "home_path",
                   "version", "os", "architecture", "public_key", "dag_id")


def registry_columns() -> dict[str, Any]:
    """The columns of one registry row (spec/scale-out.md §1.6), as new fields for one model;
    `dag_id` is the DAG that wrote the row (generic id): a rollback deletes only its own rows."""
    return {"ip": CharField(), "port": IntegerField(),
            "identity": CharField(default=IDENTITY_CLUSTER_AGENT), "zone": CharField(default=""),
            "mysql_port": IntegerField(default=0), "rpc_port": IntegerField(default=0),
            "home_path": TextField(default=""), "version": CharField(default=""),
            "os": CharField(default=""), "architecture": CharField(default=""),
            "public_key": TextField(default=""), "dag_id": CharField(default="")}


class RegistryRow:
    """What every registry model answers, whichever store it lives in."""

    def to_dict(self) -> dict:
        """The wire form of a registry row."""
        return {f: getattr(self, f) for f in REGISTRY_FIELDS}


class _RegistryAgentMeta:
    table_name = "registry_agent"
    indexes = ((("ip", "port"), True),)


# One agent of the cluster in this agent's SQLite: the registry of CLUSTER_STORE "agent" only
# (the cluster store's own table is app.clusterdb.ClusterAgent).
RegistryAgent = type("RegistryAgent", (RegistryRow, BaseModel),
                     {**registry_columns(), "Meta": _RegistryAgentMeta, "__module__": __name__})

MODELS = [AgentState, ReplayEntry, RegistryAgent]
