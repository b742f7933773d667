"""What the huey consumer runs (`obscale worker`, started by `obscale serve`)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

from huey.consumer import Consumer, Scheduler

if TYPE_CHECKING:  # pragma: no cover - typing only
    from app.dag.engine import DagEngine

from app.config import load_config

log = logging.getLogger(__name__)


def prepare_consumer(config: Mapping[str, Any]) -> tuple[dict[str, Any], "DagEngine"]:
    """Build the engine from `config`, bind the database, migrate, and sweep once."""
    from app.dags import build_engine
    from app.db import connection, init_db
    from app.migrate import run_migrations
    from app.process.heartbeat import install_heartbeat
    from app.security import keystore

    settings = load_config({**config, "QUEUE_IMMEDIATE": False})
    init_db(settings["DATABASE"])
    engine = build_engine(settings)
    install_heartbeat(engine.queue)
    # Scale-out stages decrypt the stored root password with the agent's own key.
    keystore.open_keystore(settings["KEY_FILE"], int(settings["RSA_KEY_BITS"]))
    with connection():
        run_migrations()
        engine.sweep(eager=True)
    return settings, engine


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
    settings, engine = prepare_consumer(config)
    engine.start_recovery_chain()
    poll = float(settings["QUEUE_POLL_S"])
    consumer = PromptConsumer(engine.queue, tick_s=float(settings["SCHEDULE_TICK_S"]),
                              workers=int(settings["QUEUE_WORKERS"]), worker_type="thread",
                              initial_delay=poll, backoff=1.0, max_delay=poll, periodic=True)
    log.info("task consumer starting on %s with %s workers", settings["QUEUE_DATABASE"],
             settings["QUEUE_WORKERS"])
    consumer.run()
