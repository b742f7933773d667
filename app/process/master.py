"""The resident `obscale serve` process: gunicorn's master, which also keeps the task consumer.

gunicorn's master (its Arbiter) already supervises the web workers: it forks them, replaces
one that dies or hangs, and stops them gracefully. Here it keeps the huey consumer as well
(app.process.supervisor.ConsumerKeeper): started with the master, restarted with back-off when
it dies, asked to finish its task and stop first at shutdown. One resident process does what a
supervisor and a separate gunicorn master did, and it imports only gunicorn, the standard
library and app.config (the web workers' gevent worker class is loaded after their fork:
app.process.lazy_worker).

Signals: SIGTERM and SIGINT stop gracefully (gunicorn's SIGINT would be its quick shutdown;
an operator's Ctrl-C must let the consumer finish its task), SIGQUIT quickly (the consumer gets
SIGTERM); HUP, TTIN, TTOU, USR1 as gunicorn documents them; USR2 (gunicorn's re-exec) is
ignored with a warning.
"""
from __future__ import annotations

from gunicorn.app.base import Application
from gunicorn.arbiter import Arbiter

from app.process.supervisor import GUNICORN_CONF, ConsumerKeeper


class AgentApplication(Application):
    """gunicorn's application: the settings of app.process.gunicorn_conf, the app of
    app.process.wsgi (imported in each web worker, after gevent's monkey-patching)."""

    def __init__(self, keeper: ConsumerKeeper):
        self.keeper = keeper
        super().__init__(usage="obscale serve", prog="obscale")

    def load_config(self) -> None:
        self.load_config_from_module_name_or_filename(GUNICORN_CONF)

    def load(self):
        from app.process.wsgi import app

        return app

    def run(self) -> None:
        AgentArbiter(self, self.keeper).run()


class AgentArbiter(Arbiter):
    """gunicorn's Arbiter that keeps the consumer beside the web workers."""

    def __init__(self, app: AgentApplication, keeper: ConsumerKeeper):
        self.keeper = keeper
        super().__init__(app)

    def handle_chld(self):
        self.keeper.reap()  # a targeted waitpid first: gunicorn's own is waitpid(-1)
        super().handle_chld()

    def manage_workers(self):
        super().manage_workers()
        self.keeper.watch()

    def handle_int(self):
        """SIGINT stops gracefully, as SIGTERM does."""
        raise StopIteration

    def handle_usr2(self):
        """gunicorn's USR2 re-executes the master beside the old one: an agent has one home,
        one pid file and one consumer, so it is not done here (restart the service)."""
        self.log.warning("SIGUSR2 (re-executing the master) is not supported by obscale serve")

    def stop(self, graceful=True):
        self.keeper.ask_to_stop(graceful)
        try:
            super().stop(graceful)
        finally:
            self.keeper.wait_stopped(graceful)


def run_master(keeper: ConsumerKeeper) -> int:
    """Run until stopped; the exit status of `obscale serve`."""
    try:
        AgentApplication(keeper).run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
