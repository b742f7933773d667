"""The replay cache (wire spec §5.3 step 5), shared by all gunicorn workers through SQLite.

One atomic insert-if-absent per verified header: the fingerprint is the primary key, so two
workers racing on the same header cannot both win. Expired rows are purged opportunistically.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time

from app.db import database

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 60.0
_INSERT = ('INSERT INTO "replay_entry" ("fingerprint", "expires_at") VALUES (?, ?) '
           'ON CONFLICT("fingerprint") DO UPDATE SET "expires_at" = excluded."expires_at" '
           'WHERE "replay_entry"."expires_at" < ?')
_purge_state = {"last": 0.0}
_purge_lock = threading.Lock()


def fingerprint(ciphertext: bytes) -> str:
    """SHA-256 hex of the decoded header ciphertext."""
    return hashlib.sha256(ciphertext).hexdigest()


def remember(fingerprint_hex: str, expires_at: int, now: int | None = None) -> bool:
    """Record a fingerprint until `expires_at`; False if it is already recorded and unexpired."""
    now = int(time.time()) if now is None else now
    cursor = database.execute_sql(_INSERT, (fingerprint_hex, expires_at, now))
    fresh = cursor.rowcount == 1
    maybe_purge(now)
    return fresh


def maybe_purge(now: int, force: bool = False) -> int:
    """Delete expired rows, at most once per PURGE_INTERVAL_S in this process."""
    with _purge_lock:
        if not force and time.monotonic() - _purge_state["last"] < PURGE_INTERVAL_S:
            return 0
        _purge_state["last"] = time.monotonic()
    cursor = database.execute_sql('DELETE FROM "replay_entry" WHERE "expires_at" < ?', (now,))
    if cursor.rowcount:
        log.debug("purged %d expired replay entries", cursor.rowcount)
    return cursor.rowcount
