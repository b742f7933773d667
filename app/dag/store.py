"""The store an engine works on: one database and the engine's model classes bound to it."""
from __future__ import annotations

import contextlib
from typing import Iterator

from peewee import Database, SqliteDatabase

from app.dag.models import AGENT_MODELS, DagModels


class DagStore:
    """DAGs, nodes, sub-tasks, logs and locks in one database (the agent's SQLite today)."""

    def __init__(self, database: Database, models: DagModels, name: str = "agent"):
        self.database = database
        self.models = models
        self.name = name
        self.Dag, self.DagNode, self.SubTask, self.SubTaskLog, self.MaintenanceLock = models

    def atomic(self):
        """A write transaction that serialises with every other writer of this store."""
        if isinstance(self.database, SqliteDatabase):
            return self.database.atomic("IMMEDIATE")
        return self.database.atomic()

    def in_transaction(self) -> bool:
        """True inside a transaction of this store."""
        return self.database.in_transaction()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Database]:
        """Open a connection for this thread if it has none; close only what was opened here."""
        opened = self.database.connect(reuse_if_open=True)
        try:
            yield self.database
        finally:
            if opened and not self.database.is_closed():
                self.database.close()


def agent_store() -> DagStore:
    """The store of this agent's own SQLite database (bound by app.db.init_db)."""
    from app.db import database

    return DagStore(database, AGENT_MODELS, "agent")
