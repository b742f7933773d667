"""The maintenance locks: one row per scope naming the DAG that holds it (compare-and-set)."""
from __future__ import annotations

import logging
import time

from app.dag.models import SUCCEED, Dag, MaintenanceLock

log = logging.getLogger(__name__)


class LockHeld(Exception):
    """The scope's maintenance lock is held; `holder` is that DAG (None if unreadable)."""

    def __init__(self, scope: str, holder: Dag | None):
        self.scope = scope
        self.holder = holder
        named = f"DAG {holder.id} ({holder.name}, {holder.state}/{holder.operator})" if holder \
            else "an unreadable DAG"
        super().__init__(f"the {scope} is under maintenance by {named}")


def _orphaned(dag: Dag | None) -> bool:
    """A lock whose DAG is gone or has ended successfully is held by nobody."""
    return dag is None or dag.state == SUCCEED


def check_free(scope: str) -> None:
    """Inside a write transaction: raise LockHeld unless the scope's lock can be taken."""
    row = MaintenanceLock.get_or_none(MaintenanceLock.scope == scope)
    if row is None or row.dag_id is None:
        return
    holder = Dag.get_or_none(Dag.id == row.dag_id)
    if not _orphaned(holder):
        raise LockHeld(scope, holder)
    log.warning("taking over the %s maintenance lock left by finished or missing DAG %s",
                scope, row.dag_id)


def take(scope: str, dag_id: int) -> None:
    """Inside the transaction that passed check_free(): record `dag_id` as the holder."""
    (MaintenanceLock.insert(scope=scope, dag_id=dag_id, acquired_at=time.time())
     .on_conflict_replace().execute())


def release(scope: str, dag_id: int) -> bool:
    """Release the lock if `dag_id` holds it (compare-and-set); True when it did."""
    return bool(MaintenanceLock.update(dag_id=None, acquired_at=None)
                .where((MaintenanceLock.scope == scope) & (MaintenanceLock.dag_id == dag_id))
                .execute())


def holder(scope: str) -> Dag | None:
    """The DAG holding the scope's lock, or None when it is free (or orphaned)."""
    row = MaintenanceLock.get_or_none(MaintenanceLock.scope == scope)
    if row is None or row.dag_id is None:
        return None
    dag = Dag.get_or_none(Dag.id == row.dag_id)
    return None if _orphaned(dag) else dag


def heal_orphans() -> list[int]:
    """Release every lock whose DAG is finished or missing; return those DAG ids."""
    healed = []
    for row in MaintenanceLock.select().where(MaintenanceLock.dag_id.is_null(False)):
        if _orphaned(Dag.get_or_none(Dag.id == row.dag_id)) and release(row.scope, row.dag_id):
            log.warning("released the %s maintenance lock of finished or missing DAG %s",
                        row.scope, row.dag_id)
            healed.append(row.dag_id)
    return healed
