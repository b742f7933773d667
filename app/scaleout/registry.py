"""The agent registry (spec/cluster-store.md §5): one table of the cluster store that every
member reads. Nothing is pushed or copied: "Add agent for scale_out" inserts a row, its rollback
deletes it, and a member that was down reads the current table when it comes back.

With CLUSTER_STORE "agent" (a lone agent's tests) the same rows live in its SQLite.
"""
from __future__ import annotations

from typing import Any, Mapping

from app.models import REGISTRY_FIELDS, RegistryAgent


def model_for(store: Any) -> type:
    """The registry's model in `store` (a DagStore)."""
    if store.shared:
        from app.clusterdb import ClusterAgent

        return ClusterAgent
    return RegistryAgent


def rows(store: Any) -> list[dict[str, Any]]:
    """Every registered agent as wire rows, in the order they joined."""
    model = model_for(store)
    with store.connection():
        return [row.to_dict() for row in model.select().order_by(model.id)]


def addresses(store: Any) -> list[dict[str, Any]]:
    """Every registered agent as {ip, port}."""
    return [{"ip": row["ip"], "port": int(row["port"])} for row in rows(store)]


def exists(store: Any, ip: str, port: int) -> bool:
    """Is the agent at ip:port registered?"""
    model = model_for(store)
    with store.connection():
        return model.select().where((model.ip == ip) & (model.port == int(port))).exists()


def upsert(store: Any, row: Mapping[str, Any]) -> None:
    """Insert one agent's row, or update it where that ip:port is registered already."""
    model = model_for(store)
    values = {k: row[k] for k in REGISTRY_FIELDS if k in row}
    if store.shared:
        values["updated_at"] = store.now()
    with store.connection(), store.atomic():
        where = (model.ip == values["ip"]) & (model.port == int(values["port"]))
        existing = store.locked(model.select(model.id).where(where)).first()
        if existing is None:
            model.insert(**values).execute()
        else:
            model.update(**values).where(model.id == existing.id).execute()


def remove(store: Any, ip: str, port: int, dag_id: str) -> int:
    """Delete the row of ip:port that the DAG `dag_id` wrote; returns how many went."""
    model = model_for(store)
    with store.connection():
        return model.delete().where((model.ip == ip) & (model.port == int(port))
                                    & (model.dag_id == dag_id)).execute()
