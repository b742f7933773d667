"""What the huey consumer runs (`obscale worker`, started by `obscale serve`)."""
from __future__ import annotations

import importlib
import logging
from typing import Any, Mapping

from huey.consumer import Consumer, Scheduler

from app.config import load_config
from app.taskqueue import configure_queue, huey

log = logging.getLogger(__name__)

# Template modules every consumer loads. TEMPLATE_MODULES (env OBSCALE_TEMPLATE_MODULES,
# comma-separated) adds more: the plugin hook for extra DAG kinds, used by the tests.
BUILTIN_TEMPLATE_MODULES = ("app.scaleout.templates",)


def load_template_modules(extra: str | None = None) -> list[str]:
    """Import the template modules (calling a module-level register() when there is one)."""
    names = list(BUILTIN_TEMPLATE_MODULES)
    names += [n.strip() for n in (extra or "").split(",") if n.strip()]
    for name in names:
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if callable(register):
            register()
    return names


def prepare_consumer(config: Mapping[str, Any]) -> dict[str, Any]:
    """Bind queue, database and engine to `config`, load tasks and templates, sweep once."""
    from app.dag import recovery
    from app.dag.settings import configure_engine
    from app.db import connection, init_db
    from app.migrate import run_migrations
    from app.security import keystore

    settings = configure_engine(load_config(config))
    configure_queue(settings["QUEUE_DATABASE"])
    init_db(settings["DATABASE"])
    importlib.import_module("app.tasks")
    importlib.import_module("app.process.heartbeat")
    load_template_modules(settings.get("TEMPLATE_MODULES"))
    # Scale-out stages decrypt the stored root password with the agent's own key.
    keystore.open_keystore(settings["KEY_FILE"], int(settings["RSA_KEY_BITS"]))
    with connection():
        run_migrations()
        recovery.sweep(eager=True, config=settings)
    return settings


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
    from app.tasks.engine import start_recovery_chain

    settings = prepare_consumer(config)
    start_recovery_chain()
    poll = float(settings["QUEUE_POLL_S"])
    consumer = PromptConsumer(huey, tick_s=float(settings["SCHEDULE_TICK_S"]),
                              workers=int(settings["QUEUE_WORKERS"]), worker_type="thread",
                              initial_delay=poll, backoff=1.0, max_delay=poll, periodic=True)
    log.info("task consumer starting on %s with %s workers", settings["QUEUE_DATABASE"],
             settings["QUEUE_WORKERS"])
    consumer.run()
