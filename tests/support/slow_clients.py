"""Connections that send a request slowly: part of it at once, then one byte every few seconds.

    with SlowClients((ip, port), count=100) as slow:
        ...                      # the agent must go on answering everyone else
        slow.closed              # how many of them the agent has closed so far

Shared by tests/integration/test_slow_clients.py and bench/api_latency.py. Bounded: at most
`count` sockets at a time, one daemon thread that stops after `duration_s`, every socket closed
when the block ends.
"""
from __future__ import annotations

import selectors
import socket
import threading
import time

# A request line and a header that never ends: the agent cannot know the request is not coming.
PARTIAL_REQUEST = b"GET /api/v1/info HTTP/1.1\r\nHost: slow\r\nX-Slow: "


class SlowClients:
    """`count` connections trickling `partial` and then b"x" every `interval_s`.

    A connection the agent closes (end of stream, reset, or a response) is counted in `closed`
    with the seconds it lived in `lifetimes_s` and what the agent sent in `responses`; with
    `reopen` another takes its place at once, as an attacker's would.
    """

    def __init__(self, address: tuple[str, int], count: int, interval_s: float = 2.0,
                 partial: bytes = PARTIAL_REQUEST, reopen: bool = False,
                 duration_s: float = 120.0):
        self.address, self.count, self.interval_s = address, count, interval_s
        self.partial, self.reopen, self.duration_s = partial, reopen, duration_s
        self.lifetimes_s: list[float] = []
        self.responses: list[bytes] = []
        self._opened: dict[socket.socket, float] = {}
        self._due: dict[socket.socket, float] = {}
        self._received: dict[socket.socket, bytes] = {}
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    @property
    def closed(self) -> int:
        """How many connections the agent has closed."""
        return len(self.lifetimes_s)

    def __enter__(self) -> "SlowClients":
        try:
            for index in range(self.count):  # spread the trickle over the interval
                self._open(time.monotonic() + self.interval_s * (index + 1) / self.count)
        except BaseException:
            self._close_all()
            raise
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        self._close_all()

    def _open(self, due: float) -> None:
        sock = socket.create_connection(self.address, timeout=10)
        self._opened[sock] = time.monotonic()
        self._due[sock] = due
        self._received[sock] = b""
        self._selector.register(sock, selectors.EVENT_READ)
        sock.sendall(self.partial)
        sock.setblocking(False)

    def _forget(self, sock: socket.socket) -> float:
        self._selector.unregister(sock)
        self._due.pop(sock, None)
        self._received.pop(sock, None)
        sock.close()
        return self._opened.pop(sock)

    def _close_all(self) -> None:
        for sock in list(self._opened):
            self._forget(sock)
        self._selector.close()

    def _closed_by_agent(self, sock: socket.socket) -> None:
        self.responses.append(self._received[sock])
        self.lifetimes_s.append(time.monotonic() - self._forget(sock))
        if self.reopen and not self._stop.is_set():
            try:
                self._open(time.monotonic() + self.interval_s)
            except OSError:
                pass  # the agent refused a connection: one fewer until the block ends

    def _read(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:  # reset
            data = b""
        if data:
            self._received[sock] += data
        else:
            self._closed_by_agent(sock)

    def _run(self) -> None:
        ends = time.monotonic() + self.duration_s
        while not self._stop.wait(0.05) and time.monotonic() < ends:
            for key, _ in self._selector.select(timeout=0):
                self._read(key.fileobj)
            now = time.monotonic()
            for sock, due in list(self._due.items()):
                if due > now:
                    continue
                try:
                    sock.send(b"x")
                    self._due[sock] = now + self.interval_s
                except OSError:
                    self._closed_by_agent(sock)
