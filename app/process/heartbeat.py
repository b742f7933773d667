"""The huey consumer's heartbeat: a periodic task (and each consumer start) records the time."""
from __future__ import annotations

import logging
import time

from huey import crontab

from huey.api import Huey

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "obscale:consumer-heartbeat"


def write_heartbeat(queue: Huey) -> None:
    """Record now as the consumer's last sign of life (in the queue's own key-value table)."""
    queue.storage.put_data(HEARTBEAT_KEY, repr(time.time()).encode("ascii"))


def read_heartbeat(storage) -> float | None:
    """The last heartbeat time recorded in `storage`, or None."""
    raw = storage.peek_data(HEARTBEAT_KEY)
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None  # huey's EmptyData: never written
    try:
        return float(bytes(raw).decode("ascii"))
    except ValueError:
        return None


def install_heartbeat(queue: Huey) -> None:
    """Register the heartbeat: at each consumer start and every minute (in the consumer)."""
    queue.periodic_task(crontab(minute="*"), retries=0, name="consumer_heartbeat")(
        lambda: write_heartbeat(queue))
    queue.on_startup(name="heartbeat_on_startup")(lambda: write_heartbeat(queue))
