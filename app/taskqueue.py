"""The huey queue: a SQLite file of its own (never the application database), and nothing else.

Each DAG engine is given the queue it registers its tasks on; make_queue() does no I/O until a
message is written.
"""
from __future__ import annotations

from huey import SqliteHuey

QUEUE_NAME = "obscale"


def make_queue(path: str | None, immediate: bool = False) -> SqliteHuey:
    """A queue on `path`; immediate=True runs tasks inline in memory (unit tests)."""
    if immediate or not path:
        return SqliteHuey(QUEUE_NAME, immediate=True, results=False, utc=True)
    return SqliteHuey(QUEUE_NAME, filename=path, journal_mode="wal", timeout=10, results=False,
                      utc=True)
