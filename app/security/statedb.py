"""The verification hook's own SQLite connection: credentials read and replay insert.

One long-lived connection per OS thread (per gunicorn worker), apart from the request's peewee
connection. Measured reason: a per-request connection that writes (the replay insert) pays for
schema loading and a WAL checkpoint on close, about 5 ms per request; this one pays ~0.1 ms.
Under the gevent worker `threading.local` is per greenlet (per client connection), which would
open a connection per client; the original, per OS thread, is used there. Its statements are
single autocommit statements run in C, so greenlets never interleave inside one.
"""
from __future__ import annotations

import sqlite3
import sys
import threading

from app.models import IDENTITY_SINGLE
from app.security.verify import Credentials

BUSY_TIMEOUT_MS = 10000


def _os_thread_local() -> threading.local:
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        return monkey.get_original("threading", "local")()
    return threading.local()


_local = _os_thread_local()


def connection(path: str) -> sqlite3.Connection:
    """This thread's autocommit connection to `path` (reopened if the path changes)."""
    current = getattr(_local, "conn", None)
    if current is not None and _local.path == path:
        return current
    if current is not None:
        current.close()
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = NORMAL")
    _local.conn, _local.path = conn, path
    return conn


def read_credentials(path: str) -> Credentials:
    """Identity and stored password forms; a missing row reads as a fresh SINGLE agent."""
    row = connection(path).execute(
        'SELECT "identity", "root_password_enc", "agent_password_hash" FROM "agent_state" '
        'WHERE "id" = 1').fetchone()
    return Credentials(*row) if row else Credentials(IDENTITY_SINGLE, None, None)
