"""One process's access to its cluster's tables file: connections, catalog cache, plan cache."""
from __future__ import annotations

import sqlite3
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from obemu.sql import catalog as cat
from obemu.sql import collation
from obemu.sql.functions import SessionFunctions, register_converters
from obemu.sql.txn import READ_BUSY_TIMEOUT_MS, LockSignal
from obemu.state import now_text

PLAN_CACHE_SIZE = 512
STARTUP_BUSY_TIMEOUT_MS = 5000


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           detect_types=sqlite3.PARSE_DECLTYPES)
    collation.register(conn)
    return conn


class TablesStore:
    """The ordinary tables of one cluster, shared by every session of this process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.catalog = cat.Catalog()
        self.plans: OrderedDict[tuple, Any] = OrderedDict()
        self._signal: LockSignal | None = None
        register_converters()
        # Open for the life of the process: while any connection is open SQLite keeps the WAL
        # and its index, so sessions that open and close connections never race the
        # checkpoint-and-delete that the last connection to close would run.
        self._anchor = self._initialise()

    def _initialise(self) -> sqlite3.Connection:
        """Create the file and its catalog once per cluster (safe when nodes start together)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(self.path)
        conn.execute(f"PRAGMA busy_timeout = {STARTUP_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ddl in cat.CATALOG_DDL:
                conn.execute(ddl)
            if conn.execute("SELECT COUNT(*) FROM emu_catalog").fetchone()[0] == 0:
                conn.executemany("INSERT INTO emu_schemata VALUES (?, ?)",
                                 [(name, now_text()) for name in cat.DEFAULT_DATABASES])
                cat.bump(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            conn.close()
            raise
        conn.execute("COMMIT")
        return conn

    def close(self) -> None:
        self._anchor.close()

    @property
    def signal(self) -> LockSignal:
        """Created on first use, inside the event loop that waits on it."""
        if self._signal is None:
            self._signal = LockSignal()
        return self._signal

    def open(self, functions: SessionFunctions) -> sqlite3.Connection:
        """A session's connection, foreign keys on. Its busy wait covers SQLite's brief
        locks of a reader (the WAL index being rebuilt, a checkpoint); the write lock of a
        transaction is waited for by the session itself (obemu.sql.txn), without blocking."""
        conn = _connect(self.path)
        conn.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        functions.register(conn)
        return conn

    def plan(self, key: tuple, build: Callable[[], Any]) -> Any:
        """The cached plan for key, built (and cached) on a miss."""
        plan = self.plans.get(key)
        if plan is not None:
            self.plans.move_to_end(key)
            return plan
        plan = build()
        self.plans[key] = plan
        if len(self.plans) > PLAN_CACHE_SIZE:
            self.plans.popitem(last=False)
        return plan
