"""What the huey consumer runs (`obscale worker`, started by `obscale serve`)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

from huey.consumer import Consumer, Scheduler

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dags import Engines

from app.config import load_config

log = logging.getLogger(__name__)


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

    def is_member() -> bool:
        return get_identity().identity == IDENTITY_CLUSTER_AGENT

    return ClusterExecutor(engine, settings, is_member,
                           lambda: run_cluster_migrations(engine.store.database))


class PromptScheduler(Scheduler):
    """huey reads its schedule at most once a second; a wait's next check is due sooner."""

    def __init__(self, huey_instance, stop_flag, interval, periodic, tick_s: float = 0.1):
        super().__init__(huey_instance, stop_flag, interval, periodic)
        self.interval = tick_s


class PromptConsumer(Consumer):
    """huey's consumer with a scheduler that ticks every `tick_s` seconds (SCHEDULE_TICK_S)."""

    def __init__(self, huey_instance, tick_s: float = 0.1, **options: Any):
        self.scheduler_tick_s = tick_s  # read by _create_scheduler() inside Consumer.__init__
        super().__init__(huey_instance, **options)

    def _create_scheduler(self) -> PromptScheduler:
        self.prompt_scheduler = PromptScheduler(self.huey, self.stop_flag, self.scheduler_interval,
                                                self.periodic, self.scheduler_tick_s)
        return self.prompt_scheduler


def run_consumer(config: Mapping[str, Any]) -> None:
    """Prepare, start the recovery chain and run the consumer until stopped."""
    settings, engines = prepare_consumer(config)
    engine = engines.agent
    engine.start_recovery_chain()
    executor = cluster_executor_for(engines, settings)
    if executor is not None:
        executor.start()
    poll = float(settings["QUEUE_POLL_S"])
    consumer = PromptConsumer(engine.queue, tick_s=float(settings["SCHEDULE_TICK_S"]),
                              workers=int(settings["QUEUE_WORKERS"]), worker_type="thread",
                              initial_delay=poll, backoff=1.0, max_delay=poll, periodic=True)
    log.info("task consumer starting on %s with %s workers", settings["QUEUE_DATABASE"],
             settings["QUEUE_WORKERS"])
    consumer.run()
