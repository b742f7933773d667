"""The Huey instance and nothing else.

It starts in immediate mode with in-memory storage, so importing it does no I/O.
configure_queue() points it at its own SQLite file (never the application database).
"""
from __future__ import annotations

from huey import SqliteHuey

huey = SqliteHuey("obscale", immediate=True, results=False, utc=True)


def configure_queue(path: str | None, immediate: bool = False) -> SqliteHuey:
    """Bind the queue to `path`; immediate=True runs tasks inline (unit tests)."""
    if path:
        huey.storage_kwargs.update(filename=path, journal_mode="wal", timeout=10)
    if immediate != huey.immediate:
        huey.immediate = immediate
    elif not immediate and path:
        huey.storage = huey.create_storage()
    return huey
