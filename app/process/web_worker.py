"""The web process's gunicorn worker: gevent, plus deadlines on reading each request.

The agent is exposed directly on its port, with no buffering proxy in front, so a client that
sends its request slowly must cost a greenlet, not a worker: gunicorn's `gevent` worker does
that. But gunicorn bounds only the request line and headers (by `keepalive`, and not at all
when it is 0), never the body: a byte every few seconds holds a connection for good. Here a
connection must send the first byte of a request within `request_read_timeout_s` of opening
(`keepalive` after a previous response), and the whole request, body included, within
`request_read_timeout_s` of that byte. Past either, it is closed: with a 408 if a request had
begun, silently if it was idle.

Monkey-patching happens in the worker, before the app is imported (preload_app is off), so the
app's per-thread state (peewee's connection state, the verification hook's SQLite connection,
the peer client's requests session) becomes per greenlet, that is per client connection. A
module with such state imported earlier, in the gunicorn master, would keep real thread-locals
shared by all the greenlets of a worker: the worker refuses to start then.
"""
from __future__ import annotations

import contextlib
import sys
import time

import gevent
from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

DEFAULT_READ_TIMEOUT_S = 5.0
# Modules whose import-time thread-locals must be created after monkey-patching.
THREAD_STATE_MODULES = ("peewee", "huey", "pymysql", "requests", "urllib3", "app.db",
                        "app.clusterdb", "app.security.statedb", "app.peer.client")


def request_read_timeout_class() -> type[Exception]:
    """What a read past its deadline raises: werkzeug's 408, so that Flask answers it when the
    app was reading the body. Built in the worker: the gunicorn master, which imports this
    module, does without werkzeug (3.5 MiB)."""
    from werkzeug.exceptions import RequestTimeout

    class RequestReadTimeout(RequestTimeout):
        """The client did not send a whole request in time."""

    return RequestReadTimeout


class ReadDeadlineSocket:
    """A client socket whose reads run against a deadline (only recv is guarded).

    Waiting for a request, the first byte must come within the wait given to `expect`; from
    then on the whole request must arrive within `budget_s` of that byte.
    """

    def __init__(self, sock, budget_s: float, error: type[Exception]):
        self._sock = sock
        self.budget_s = budget_s
        self.error = error
        self.expired = False
        self.expect(budget_s)

    def expect(self, wait_s: float) -> None:
        """Wait for a new request, at most `wait_s` for its first byte."""
        self.deadline = time.monotonic() + wait_s
        self.received = 0

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if not self.expired and remaining > 0:
            with gevent.Timeout(remaining, False):  # silent: falls through when it fires
                data = self._sock.recv(size, *flags)
                if data and not self.received:
                    self.deadline = time.monotonic() + self.budget_s
                self.received += len(data)
                return data
        self.expired = True  # once out of time, the connection only closes
        raise self.error(f"The request was not received in full within {self.budget_s:g} s.")

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class ReadDeadlineGeventWorker(GeventWorker):
    """gunicorn's gevent worker; each request must arrive whole within the read budget."""

    request_read_timeout_s = DEFAULT_READ_TIMEOUT_S
    read_timeout_error: type[Exception] = TimeoutError  # replaced before the app loads

    def load_wsgi(self) -> None:
        """After monkey-patching (init_process), like everything the app imports."""
        self.read_timeout_error = request_read_timeout_class()
        super().load_wsgi()

    def patch(self) -> None:
        early = [name for name in THREAD_STATE_MODULES if name in sys.modules]
        if early:
            raise RuntimeError("imported before gevent's monkey-patching, their thread-local "
                               f"state would be shared by all requests: {', '.join(early)}")
        super().patch()

    def handle(self, listener, client, addr) -> None:
        guarded = ReadDeadlineSocket(client, self.request_read_timeout_s, self.read_timeout_error)
        super().handle(listener, guarded, addr)

    def timeout_ctx(self):
        """None: the socket's deadlines bound the keep-alive wait (see handle_request)."""
        return contextlib.nullcontext()

    def handle_request(self, listener_name, req, sock, addr):
        try:
            return super().handle_request(listener_name, req, sock, addr)
        finally:
            sock.expect(self.cfg.keepalive)  # the next request on a kept-alive connection

    def handle_error(self, req, client, addr, exc) -> None:
        if not isinstance(exc, self.read_timeout_error):
            super().handle_error(req, client, addr, exc)
            return
        # Debug only: one line per slow client would let anyone fill the log.
        self.log.debug("closing a connection from %s: %s", addr[0] if addr else "", exc)
        if client.received:  # a request had begun: say why it ends; an idle one just closes
            try:
                util.write_error(client, 408, "Request Timeout", exc.description)
            except OSError:
                pass
