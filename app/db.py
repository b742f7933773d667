"""The deferred peewee database and its connection helpers."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from peewee import SqliteDatabase

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -8000,
}

# Bound to a file by init_db(); nothing is opened at import time.
database = SqliteDatabase(None, pragmas=PRAGMAS, check_same_thread=False)


def init_db(path: str) -> SqliteDatabase:
    """Point the shared database object at a file (created on first connect)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if database.database != path:
        if not database.is_closed():
            database.close()
        database.init(path, pragmas=PRAGMAS, check_same_thread=False)
    return database


@contextlib.contextmanager
def connection() -> Iterator[SqliteDatabase]:
    """Open a connection for this thread if it has none; close only what was opened here."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield database
    finally:
        if opened and not database.is_closed():
            database.close()
