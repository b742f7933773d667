"""The maintenance locks: one row per scope naming the DAG that holds it (compare-and-set)."""
from __future__ import annotations

import logging
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


def _row(store: "DagStore", scope: str, for_update: bool = False) -> Any | None:
    model = store.MaintenanceLock
    query = model.select().where(model.scope == scope)
    return (store.locked(query) if for_update else query).first()


# obshell's own cluster lock in a mixed cluster (spec/cluster-store.md §5): id 1, 1 free, 2 held.
OBSHELL_LOCK_TABLE = "cluster_status"
OBSHELL_FREE, OBSHELL_HELD = 1, 2


def _obshell_lock_exists(store: "DagStore") -> bool:
    cursor = store.database.execute_sql(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
        "AND table_name = %s", (OBSHELL_LOCK_TABLE,))
    return bool(cursor.fetchone()[0])


def _set_obshell_lock(store: "DagStore", frm: int, to: int) -> bool:
    """Compare-and-set obshell's row; True when it changed (or there is no such row to take)."""
    if not store.shared or not _obshell_lock_exists(store):
        return True
    cursor = store.database.execute_sql(
        f"UPDATE `{OBSHELL_LOCK_TABLE}` SET status = %s WHERE id = 1 AND status = %s", (to, frm))
    return cursor.rowcount == 1


def check_free(store: "DagStore", scope: str) -> None:
    """Inside a write transaction: raise LockHeld unless the scope's lock can be taken.

    The lock row is read FOR UPDATE in a shared store, so two members creating a DAG at the same
    moment are serialised on it: the second sees the first's holder."""
    row = _row(store, scope, for_update=True)
    if row is None or row.dag_id is None:
        return
    holder = _dag(store, row.dag_id)
    if not _orphaned(holder):
        raise LockHeld(scope, holder)
    log.warning("taking over the %s maintenance lock left by finished or missing DAG %s",
                scope, row.dag_id)


def take(store: "DagStore", scope: str, dag_id: int) -> None:
    """Inside the transaction that passed check_free(): record `dag_id` as the holder, and take
    obshell's row too where it exists (held by obshell: LockHeld, and the transaction rolls back)."""
    if not _set_obshell_lock(store, OBSHELL_FREE, OBSHELL_HELD):
        raise LockHeld(scope, None)
    model = store.MaintenanceLock
    now = store.now()
    if not model.update(dag_id=dag_id, acquired_at=now).where(model.scope == scope).execute():
        model.insert(scope=scope, dag_id=dag_id, acquired_at=now).execute()


def release(store: "DagStore", scope: str, dag_id: int) -> bool:
    """Release the lock if `dag_id` holds it (compare-and-set); True when it did."""
    model = store.MaintenanceLock
    released = bool(model.update(dag_id=None, acquired_at=None)
                    .where((model.scope == scope) & (model.dag_id == dag_id)).execute())
    if released:
        _set_obshell_lock(store, OBSHELL_HELD, OBSHELL_FREE)
    return released


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
