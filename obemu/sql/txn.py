"""Transactions of one session over the shared tables file.

A transaction takes SQLite's write lock (BEGIN IMMEDIATE) at its first write or locking read
and keeps it until COMMIT or ROLLBACK, so writers of every observer and connection of a
cluster are serialised; reads before that see the latest committed rows (READ COMMITTED, the
default of OceanBase). The lock is waited for without blocking the event loop: SQLite answers
"locked" at once (busy_timeout 0 while BEGIN IMMEDIATE runs) and the session retries, woken early when a session of the
same process releases the lock, until ob_query_timeout (or ob_trx_lock_timeout when it is set)
ends the wait with 1205, as a real observer ends a row-lock wait.
"""
from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field

from obemu.errors import ob_error

# A session connection's busy wait for anything but the write lock (see TablesStore.open).
READ_BUSY_TIMEOUT_MS = 2000
FIRST_RETRY_S = 0.0005
MAX_RETRY_S = 0.005
STATEMENT_SAVEPOINT = "emu_statement"


def is_busy(error: sqlite3.Error) -> bool:
    text = str(error)
    return "database is locked" in text or "database is busy" in text


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE that answers "locked" at once instead of sleeping in SQLite."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")


class LockSignal:
    """Wakes the waiters of one process when any of its sessions releases the write lock."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def released(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


async def retry_while_busy(action, deadline: float, signal: LockSignal):
    """Run `action()` until SQLite stops answering "locked"; 1205 at the deadline."""
    loop = asyncio.get_running_loop()
    delay = FIRST_RETRY_S
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise ob_error(1205)
        await signal.wait(min(delay, remaining))
        delay = min(delay * 2, MAX_RETRY_S)


@dataclass
class Transaction:
    """One session's transaction state."""

    signal: LockSignal
    explicit: bool = False
    locked: bool = False
    savepoints: list[str] = field(default_factory=list)

    async def lock(self, conn: sqlite3.Connection, deadline: float) -> None:
        """Take the write lock (if not held) and replay savepoints taken before it."""
        if self.locked:
            return
        await retry_while_busy(lambda: begin_immediate(conn), deadline, self.signal)
        self.locked = True
        for name in self.savepoints:
            conn.execute(f'SAVEPOINT "{name}"')

    def finish(self, conn: sqlite3.Connection | None, commit: bool) -> None:
        """COMMIT or ROLLBACK whatever is held; the session is out of its transaction."""
        was_locked = self.locked
        self.locked, self.explicit, self.savepoints = False, False, []
        if conn is None or not was_locked:
            return
        try:
            conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self.signal.released()

    def savepoint(self, conn: sqlite3.Connection | None, name: str) -> None:
        if self.locked and conn is not None:
            conn.execute(f'SAVEPOINT "{name}"')
        self.savepoints.append(name)

    def rollback_to(self, conn: sqlite3.Connection | None, name: str) -> None:
        self._require(name)
        if self.locked and conn is not None:
            conn.execute(f'ROLLBACK TO "{name}"')
        del self.savepoints[self.savepoints.index(name) + 1:]

    def release(self, conn: sqlite3.Connection | None, name: str) -> None:
        self._require(name)
        if self.locked and conn is not None:
            conn.execute(f'RELEASE "{name}"')
        del self.savepoints[self.savepoints.index(name):]

    def _require(self, name: str) -> None:
        if name not in self.savepoints:
            raise ob_error(1305, kind="SAVEPOINT", name=name)
