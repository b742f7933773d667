"""What the huey consumer runs (`obscale worker`, started by `obscale serve`)."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Mapping

from huey.consumer import Consumer, Scheduler

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dags import Engines

from app.config import load_config
from app.process.logs import release_startup_memory
from app.taskqueue import Bell

log = logging.getLogger(__name__)

# How often the consumer's main thread looks at signals and its threads' health (huey: 0.1 s).
MAIN_LOOP_S = 1.0


def prepare_consumer(config: Mapping[str, Any]) -> tuple[dict[str, Any], "Engines"]:
    """Build the engines from `config`, bind the database, migrate, and sweep the agent's own
    store once (the cluster store is swept by its maintainer: cluster_executor_for)."""
    from app.dags import build_engines
    from app.db import connection, init_db
    from app.migrate import run_migrations
    from app.process.heartbeat import install_heartbeat
    from app.security import keystore

    settings = load_config({**config, "QUEUE_IMMEDIATE": False})
    init_db(settings["DATABASE"])
    engines = build_engines(settings)
    install_heartbeat(engines.agent.queue)
    # Scale-out stages decrypt the stored root password with the agent's own key.
    keystore.open_keystore(settings["KEY_FILE"], int(settings["RSA_KEY_BITS"]))
    with connection():
        run_migrations()
        engines.agent.sweep(eager=True)
    return settings, engines


def cluster_executor_for(engines: "Engines", settings: Mapping[str, Any]):
    """The cluster executor thread of this consumer, or None without a cluster store."""
    from app.migrate import run_cluster_migrations
    from app.node.identity import get_identity
    from app.models import IDENTITY_CLUSTER_AGENT
    from app.process.cluster_executor import ClusterExecutor

    if not engines.shared:
        return None
    engine = engines.cluster
    engine.store.persistent = True

    from app.db import database

    seen: list[int | bool] = [-1, False]  # SQLite's data_version, and the answer read then

    def is_member() -> bool:
        """Re-read the identity only when another connection has written to the agent's
        database since the last look (SQLite's data_version): an idle agent costs one PRAGMA."""
        database.connect(reuse_if_open=True)  # kept open in the executor's thread: no re-open
        version = database.execute_sql("PRAGMA data_version").fetchone()[0]
        if version != seen[0]:
            seen[:] = [version, get_identity().identity == IDENTITY_CLUSTER_AGENT]
        return bool(seen[1])

    return ClusterExecutor(engine, settings, is_member,
                           lambda: run_cluster_migrations(engine.store.database))


class WakingScheduler(Scheduler):
    """huey's scheduler, asleep until the next scheduled message is due, a periodic task is
    due, the doorbell rings (a message was scheduled) or `idle_s` passed (app/taskqueue.py).

    huey's own reads the schedule every second at best; a wait's next check may be due sooner,
    and an idle agent should not read anything."""

    def __init__(self, huey_instance, stop_flag, interval, periodic, bell: Bell,
                 idle_s: float):
        super().__init__(huey_instance, stop_flag, interval, periodic)
        self.bell = bell
        self.idle_s = idle_s

    def loop(self, now=None):
        try:
            due = self.huey.read_schedule(now)
        except Exception:  # noqa: BLE001 - as huey's scheduler: log and go on
            self._logger.exception("Error reading schedule.")
            due = []
        for task in due:
            try:
                self.huey.enqueue(task)
            except Exception:  # noqa: BLE001
                self._logger.exception("Error enqueueing %s.", task)
        if self.periodic and self._next_periodic <= time.monotonic():
            while self._next_periodic <= time.monotonic():
                self._next_periodic += self.periodic_task_seconds
            self.enqueue_periodic_tasks(now)
        seen = self.bell.generation  # whatever is scheduled from here on rings
        self.bell.wait(seen, self._sleep_s())

    def _sleep_s(self) -> float:
        timeout = self.idle_s
        if self.periodic:
            timeout = min(timeout, self._next_periodic - time.monotonic())
        try:
            next_due = self.huey.storage.next_due()
        except Exception:  # noqa: BLE001 - read again at the next wake
            self._logger.exception("Error reading the schedule's next due time.")
            next_due = None
        if next_due is not None:
            timeout = min(timeout, next_due - self.huey._get_timestamp().timestamp())
        return max(timeout, 0.0) + 0.001  # due times are compared with <=: wake just after


class WakingConsumer(Consumer):
    """huey's consumer on a storage that blocks until rung (app/taskqueue.py), with the
    scheduler above. Stopping closes the doorbell, which wakes every waiting thread."""

    def __init__(self, huey_instance, idle_s: float, **options: Any):
        self.bell = huey_instance.storage.listen()
        self.idle_s = idle_s
        super().__init__(huey_instance, **options)
        # The main thread only watches for signals and the threads' health.
        self._stop_flag_timeout = MAIN_LOOP_S

    def _create_scheduler(self) -> WakingScheduler:
        self.waking_scheduler = WakingScheduler(self.huey, self.stop_flag,
                                                self.scheduler_interval, self.periodic,
                                                self.bell, self.idle_s)
        return self.waking_scheduler

    def stop(self, graceful=False):
        self.bell.close()
        super().stop(graceful)


def run_consumer(config: Mapping[str, Any]) -> None:
    """Prepare, start the recovery chain and run the consumer until stopped."""
    settings, engines = prepare_consumer(config)
    engine = engines.agent
    engine.start_recovery_chain()
    executor = cluster_executor_for(engines, settings)
    if executor is not None:
        executor.start()
    consumer = WakingConsumer(engine.queue, idle_s=float(settings["QUEUE_IDLE_S"]),
                              workers=int(settings["QUEUE_WORKERS"]), worker_type="thread",
                              periodic=True)
    log.info("task consumer starting on %s with %s workers", settings["QUEUE_DATABASE"],
             settings["QUEUE_WORKERS"])
    release_startup_memory()
    consumer.run()
