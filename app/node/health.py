"""GET /api/v1/admin/health: each component with a status and a measured figure."""
from __future__ import annotations

import logging
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from huey.storage import SqliteStorage

from app.node import identity as agent
from app.node.exposure import exposure_warning
from app.ob import observer
from app.process import procfs
from app.node.status import port_reachable, sql_port
from app.db import connection, database
from app.models import (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_IN, IDENTITY_SCALING_OUT,
                        IDENTITY_UNIDENTIFIED)
from app.taskqueue import QUEUE_NAME

log = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"
_RANK = {OK: 0, DEGRADED: 1, DOWN: 2}
_storages: dict[str, SqliteStorage] = {}
_storages_lock = threading.Lock()


def _failure(status: str, exc: Exception) -> dict[str, Any]:
    return {"status": status, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}


def check_database(config: Mapping[str, Any]) -> dict[str, Any]:
    """A real write transaction on the agent database, timed."""
    started = time.monotonic()
    with connection(), database.atomic("IMMEDIATE"):
        database.execute_sql('UPDATE "agent_state" SET "updated_at" = "updated_at" WHERE "id" = 1')
    latency = round((time.monotonic() - started) * 1000, 3)
    slow = latency > float(config["HEALTH_DB_SLOW_MS"])
    return {"status": DEGRADED if slow else OK, "writeLatencyMs": latency}


def _queue_storage(path: str) -> SqliteStorage:
    with _storages_lock:
        if path not in _storages:
            _storages[path] = SqliteStorage(name=QUEUE_NAME, filename=path, timeout=5)
        return _storages[path]


def check_queue(config: Mapping[str, Any]) -> dict[str, Any]:
    """Pending tasks and the age of the consumer's last heartbeat."""
    from app.process.heartbeat import read_heartbeat

    storage = _queue_storage(config["QUEUE_DATABASE"])
    beat = read_heartbeat(storage)
    age = None if beat is None else round(max(0.0, time.time() - beat), 3)
    fresh = age is not None and age <= float(config["HEALTH_HEARTBEAT_MAX_AGE_S"])
    return {"status": OK if fresh else DEGRADED, "pending": storage.queue_size(),
            "heartbeatAgeS": age}


def check_key_store(config: Mapping[str, Any]) -> dict[str, Any]:
    """The key file exists, is private (0600) and holds the key this process serves."""
    from app.security import keystore

    store = keystore.open_keystore(config["KEY_FILE"], int(config["RSA_KEY_BITS"]))
    mode = stat.S_IMODE(Path(config["KEY_FILE"]).stat().st_mode)
    private = not mode & 0o077
    return {"status": OK if private else DOWN, "bits": store.bits, "mode": f"{mode:04o}"}


def check_disk(config: Mapping[str, Any]) -> dict[str, Any]:
    """Free space under the home."""
    free = shutil.disk_usage(config["HOME"]).free
    low = free < int(config["HEALTH_DISK_MIN_FREE_MB"]) * 1024 * 1024
    return {"status": DEGRADED if low else OK, "freeBytes": free}


def check_observer(config: Mapping[str, Any], me: agent.Identity) -> dict[str, Any]:
    """The local observer (pid alive, SQL port reachable) when this identity expects one."""
    expected = me.identity in (IDENTITY_CLUSTER_AGENT, IDENTITY_SCALING_OUT, IDENTITY_SCALING_IN)
    pid = observer.read_pid(config["HOME"])
    alive = procfs.alive(pid)
    port = sql_port(config, me)
    reachable = alive and port_reachable(config["IP"], port)
    healthy = not expected or (alive and reachable)
    return {"status": OK if healthy else DEGRADED, "expected": expected, "pid": pid if alive else None,
            "sqlPort": port, "sqlPortReachable": reachable}


def check_identity(me: agent.Identity) -> dict[str, Any]:
    """The identity, degraded when none is recorded."""
    return {"status": DEGRADED if me.identity == IDENTITY_UNIDENTIFIED else OK,
            "identity": me.identity, "zone": me.zone}


def check_exposure(config: Mapping[str, Any], me: agent.Identity) -> dict[str, Any]:
    """Degraded while the agent is reachable beyond this host without an agent password."""
    warning = exposure_warning(config, me)
    return {"status": DEGRADED, "warning": warning} if warning else {"status": OK}


def _guarded(check: Callable[[], dict[str, Any]], on_error: str) -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:  # a failing probe is a finding, not a 500
        log.warning("health probe failed: %s", exc)
        return _failure(on_error, exc)


def health_report(config: Mapping[str, Any]) -> dict[str, Any]:
    """Every component, and the overall status: the worst of them."""
    database_report = _guarded(lambda: check_database(config), DOWN)
    try:
        me = agent.get_identity()
    except Exception as exc:
        log.warning("cannot read the agent identity: %s", exc)
        me = None
    components = {
        "database": database_report,
        "queue": _guarded(lambda: check_queue(config), DEGRADED),
        "keyStore": _guarded(lambda: check_key_store(config), DOWN),
        "disk": _guarded(lambda: check_disk(config), DEGRADED),
        "observer": _guarded(lambda: check_observer(config, me), DEGRADED) if me else
        {"status": DEGRADED, "error": "identity unknown"},
        "identity": check_identity(me) if me else {"status": DOWN, "error": "cannot read"},
        "exposure": check_exposure(config, me) if me else {"status": DEGRADED,
                                                             "error": "identity unknown"},
    }
    overall = max((c["status"] for c in components.values()), key=_RANK.__getitem__)
    return {"status": overall, "components": components}


def down_components(report: Mapping[str, Any]) -> list[str]:
    """Names of the components that are down."""
    return [name for name, c in report["components"].items() if c["status"] == DOWN]
