"""The huey consumer's heartbeat: a periodic task (and each consumer start) records the time."""
from __future__ import annotations

import logging
import time

from huey import crontab

from app.taskqueue import huey

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "obscale:consumer-heartbeat"


def write_heartbeat() -> None:
    """Record now as the consumer's last sign of life (in the queue's own key-value table)."""
    huey.storage.put_data(HEARTBEAT_KEY, repr(time.time()).encode("ascii"))


def read_heartbeat(storage) -> float | None:
    """The last heartbeat time recorded in `storage`, or None."""
    raw = storage.peek_data(HEARTBEAT_KEY)
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None  # huey's EmptyData: never written
    try:
        return float(bytes(raw).decode("ascii"))
    except ValueError:
        return None


@huey.periodic_task(crontab(minute="*"), retries=0)
def consumer_heartbeat() -> None:
    """Runs every minute in the consumer."""
    write_heartbeat()


@huey.on_startup()
def heartbeat_on_startup() -> None:
    """A first heartbeat as soon as a consumer worker starts."""
    write_heartbeat()
