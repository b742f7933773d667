"""The maintenance locks: one row per scope naming the DAG that holds it (compare-and-set)."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from app.dag.errors import LockHeld
from app.dag.models import SUCCEED

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.store import DagStore

log = logging.getLogger(__name__)


def _orphaned(dag: Any | None) -> bool:
    """A lock whose DAG is gone or has ended successfully is held by nobody."""
    return dag is None or dag.state == SUCCEED


def _dag(store: "DagStore", dag_id: int) -> Any | None:
    return store.Dag.get_or_none(store.Dag.id == dag_id)


def _row(store: "DagStore", scope: str) -> Any | None:
    return store.MaintenanceLock.get_or_none(store.MaintenanceLock.scope == scope)


def check_free(store: "DagStore", scope: str) -> None:
    """Inside a write transaction: raise LockHeld unless the scope's lock can be taken."""
    row = _row(store, scope)
    if row is None or row.dag_id is None:
        return
    holder = _dag(store, row.dag_id)
    if not _orphaned(holder):
        raise LockHeld(scope, holder)
    log.warning("taking over the %s maintenance lock left by finished or missing DAG %s",
                scope, row.dag_id)


def take(store: "DagStore", scope: str, dag_id: int) -> None:
    """Inside the transaction that passed check_free(): record `dag_id` as the holder."""
    (store.MaintenanceLock.insert(scope=scope, dag_id=dag_id, acquired_at=time.time())
     .on_conflict_replace().execute())


def release(store: "DagStore", scope: str, dag_id: int) -> bool:
    """Release the lock if `dag_id` holds it (compare-and-set); True when it did."""
    model = store.MaintenanceLock
    return bool(model.update(dag_id=None, acquired_at=None)
                .where((model.scope == scope) & (model.dag_id == dag_id)).execute())


def holder(store: "DagStore", scope: str) -> Any | None:
    """The DAG holding the scope's lock, or None when it is free (or orphaned)."""
    row = _row(store, scope)
    if row is None or row.dag_id is None:
        return None
    dag = _dag(store, row.dag_id)
    return None if _orphaned(dag) else dag


def heal_orphans(store: "DagStore") -> list[int]:
    """Release every lock whose DAG is finished or missing; return those DAG ids."""
    healed = []
    model = store.MaintenanceLock
    for row in model.select().where(model.dag_id.is_null(False)):
        if _orphaned(_dag(store, row.dag_id)) and release(store, row.scope, row.dag_id):
            log.warning("released the %s maintenance lock of finished or missing DAG %s",
                        row.scope, row.dag_id)
            healed.append(row.dag_id)
    return healed
