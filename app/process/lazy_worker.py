"""The web workers' class as gunicorn's master sees it: gevent is imported after the fork.

gunicorn's master loads the worker class to build each worker object before forking it. The
real class (app.process.web_worker.ReadDeadlineGeventWorker) imports gevent and gunicorn's
gevent worker, several MiB the master never uses. This class has the same constructor (that of
gunicorn's AsyncWorker) and, in the forked worker, becomes the real one before it starts.
"""
from __future__ import annotations

from gunicorn.workers.base import Worker


class GeventWorkerAfterFork(Worker):
    """Becomes ReadDeadlineGeventWorker in the worker process (init_process)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.worker_connections = self.cfg.worker_connections  # as AsyncWorker.__init__

    def init_process(self) -> None:
        from app.process.web_worker import ReadDeadlineGeventWorker

        self.__class__ = ReadDeadlineGeventWorker
        self.init_process()
