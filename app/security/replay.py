"""The replay cache (wire spec §5.3 step 5), shared by all gunicorn workers through SQLite.

One atomic insert-if-absent per verified header: the fingerprint is the primary key, so two
workers racing on the same header cannot both win. Expired rows are purged opportunistically.
"""
from __future__ import annotations

import logging
import threading
import time

from app.security.statedb import connection

log = logging.getLogger(__name__)

PURGE_INTERVAL_S = 60.0
_INSERT = ('INSERT INTO "replay_entry" ("fingerprint", "expires_at") VALUES (?, ?) '
           'ON CONFLICT("fingerprint") DO UPDATE SET "expires_at" = excluded."expires_at" '
           'WHERE "replay_entry"."expires_at" < ?')
_purge_state = {"last": 0.0}
_purge_lock = threading.Lock()


def remember(path: str, fingerprint_hex: str, expires_at: int, now: int | None = None) -> bool:
    """Record a fingerprint until `expires_at`; False if it is already recorded and unexpired."""
    now = int(time.time()) if now is None else now
    fresh = connection(path).execute(_INSERT, (fingerprint_hex, expires_at, now)).rowcount == 1
    maybe_purge(path, now)
    return fresh


def maybe_purge(path: str, now: int, force: bool = False) -> int:
    """Delete expired rows, at most once per PURGE_INTERVAL_S in this process."""
    with _purge_lock:
        if not force and time.monotonic() - _purge_state["last"] < PURGE_INTERVAL_S:
            return 0
        _purge_state["last"] = time.monotonic()
    deleted = connection(path).execute('DELETE FROM "replay_entry" WHERE "expires_at" < ?',
                                       (now,)).rowcount
    if deleted:
        log.debug("purged %d expired replay entries", deleted)
    return deleted
