"""The store an engine works on: one database and the engine's model classes bound to it."""
from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator, Mapping

from peewee import Database, SqliteDatabase

from app.dag.models import AGENT_MODELS, DagModels


class DagStore:
    """DAGs, nodes, sub-tasks, logs and locks in one database: the agent's SQLite, or the cluster
    store in OceanBase (app.clusterdb), where several agents share the rows.

    `shared` stores are written by agents on other hosts: a claim there is only ever taken over
    once its lease has expired by the database's clock, never by a look at a local pid.
    """

    def __init__(self, database: Database, models: DagModels, name: str = "agent",
                 shared: bool = False, here: str = ""):
        self.database = database
        self.models = models
        self.name = name
        self.shared = shared
        # The agent this process belongs to ("ip:port"): a claim of another agent in a shared
        # store cannot be judged by a look at this host's processes.
        self.here = here
        # Keep each thread's connection open between uses (a consumer's worker threads on the
        # cluster store, where a login costs a round trip or three); checked before each use.
        self.persistent = False
        self.Dag, self.DagNode, self.SubTask, self.SubTaskLog, self.MaintenanceLock = models

    def atomic(self):
        """A write transaction that serialises with every other writer of this store."""
        if isinstance(self.database, SqliteDatabase):
            return self.database.atomic("IMMEDIATE")
        return self.database.atomic()

    def now(self) -> float:
        """The clock leases are measured by: the database's own where it has one."""
        clock = getattr(self.database, "now", None)
        return clock() if clock is not None else time.time()

    def claim_ttl(self, config: Mapping[str, Any]) -> float:
        """How long a claim lives without renewal: short where agents of other hosts may take
        it over (they cannot see our processes), long where a dead pid is seen at once."""
        return float(config["CLUSTER_CLAIM_TTL_S" if self.shared else "CLAIM_TTL_S"])

    def locked(self, query: Any) -> Any:
        """`query` as SELECT ... FOR UPDATE where the database has row locks (SQLite's
        IMMEDIATE transaction already holds the whole file)."""
        return query if isinstance(self.database, SqliteDatabase) else query.for_update()

    def in_transaction(self) -> bool:
        """True inside a transaction of this store."""
        return self.database.in_transaction()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Database]:
        """Open a connection for this thread if it has none; close only what was opened here
        (a persistent store keeps it, after checking that it still answers)."""
        if self.persistent and not self.database.in_transaction():
            self._reconnect_if_dead()
            yield self.database
            return
        opened = self.database.connect(reuse_if_open=True)
        try:
            yield self.database
        finally:
            if opened and not self.database.is_closed():
                self.database.close()


    def _reconnect_if_dead(self) -> None:
        if not self.database.is_closed():
            try:
                self.database.connection().ping(False)
                return
            except Exception:  # noqa: BLE001 - any failure of the ping: open a new connection
                with contextlib.suppress(Exception):
                    self.database.close()
        self.database.connect(reuse_if_open=True)


def agent_store() -> DagStore:
    """The store of this agent's own SQLite database (bound by app.db.init_db)."""
    from app.db import database

    return DagStore(database, AGENT_MODELS, "agent")


def cluster_store(here: str) -> DagStore:
    """The cluster store in OceanBase (bound by app.clusterdb.configure), shared by all members."""
    from app.clusterdb import CLUSTER_MODELS, cluster_database

    return DagStore(cluster_database, CLUSTER_MODELS, "cluster", shared=True, here=here)
