"""The huey queue: a SQLite file of its own (never the application database), and its doorbell.

Each DAG engine is given the queue it registers its tasks on; make_queue() does no I/O until a
message is written.

Wake, don't poll. huey's consumer polls a SQLite queue (its workers sleep between empty reads,
its scheduler reads the schedule every second). Here the storage rings a doorbell after every
write that gives the consumer work: a message enqueued, or a scheduled one added. The doorbell
is a FIFO beside the queue file (`<queue file>.wake`, mode 0600, in the agent's state folder):
any process of the agent (a web worker, a CLI command on this home) writes one byte to it; the
consumer reads it in one thread and wakes its waiting workers and its scheduler through a
condition variable. Inside the consumer a write wakes them directly. The consumer's workers
block in dequeue() (the storage says `blocking`) until rung or until `idle_s` (a safety net:
a ring is never needed for correctness, only for speed); its scheduler sleeps until the next
due time in the schedule, a ring, or `idle_s` (app/process/consumer.py).

No reader (the consumer is not running): the ring is dropped; the consumer reads the queue and
schedule when it starts. A full FIFO already holds a ring.
"""
from __future__ import annotations

import errno
import os
import stat
import threading
import time
from huey import SqliteHuey
from huey.storage import SqliteStorage

QUEUE_NAME = "obscale"
WAKE_SUFFIX = ".wake"


def wake_path(queue_path: str) -> str:
    return queue_path + WAKE_SUFFIX


def ring(path: str) -> bool:
    """Write one byte to the doorbell at `path`; False when no consumer listens (or no FIFO)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT, errno.EACCES):
            return False  # no reader, not made yet, or not ours
        raise
    try:
        os.write(fd, b"!")
    except BlockingIOError:
        pass  # full: a ring is already pending
    except BrokenPipeError:
        return False
    finally:
        os.close(fd)
    return True


class Bell:
    """The consumer's side: the FIFO's reader and the condition its threads wait on."""

    def __init__(self, path: str):
        self.path = path
        self._cond = threading.Condition()
        self._generation = 0
        self._closed = False
        _make_fifo(path)
        self._read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        # A writer of our own, so the FIFO never reports end-of-file between rings (which would
        # make poll() return at once, over and over) and so close() can wake the reader.
        self._write_fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._reader = threading.Thread(target=self._read, name="queue-doorbell", daemon=True)
        self._reader.start()

    @property
    def generation(self) -> int:
        """A counter that every ring advances: read it before looking for work."""
        return self._generation

    def notify(self) -> None:
        """Wake every waiting thread of this process."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float | None) -> bool:
        """Until the generation moves past `seen` or `timeout` passes; True when rung."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != seen or self._closed, timeout)

    def close(self) -> None:
        """Wake every waiter for good (the consumer stops) and stop the reader."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        try:
            os.write(self._write_fd, b"!")
        except OSError:
            pass

    @property
    def closed(self) -> bool:
        return self._closed

    def _read(self) -> None:
        import select

        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        try:
            while not self._closed:
                try:
                    if not poller.poll():
                        continue
                    while os.read(self._read_fd, 4096):
                        pass
                except BlockingIOError:
                    pass
                except OSError:  # never let the reader die: the ring would be lost until
                    time.sleep(0.1)  # QUEUE_IDLE_S; wake the waiters, they read the queue
                self.notify()
        finally:
            for fd in (self._read_fd, self._write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass


def _make_fifo(path: str) -> None:
    """The FIFO at `path` (0600); anything else found there is replaced."""
    try:
        if stat.S_ISFIFO(os.lstat(path).st_mode):
            os.chmod(path, 0o600)
            return
        os.unlink(path)
    except FileNotFoundError:
        pass
    old = os.umask(0o077)
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass  # another consumer of this home made it just now
    finally:
        os.umask(old)


class WakingSqliteStorage(SqliteStorage):
    """huey's SQLite storage that rings the doorbell after each write that gives work, and,
    once a consumer listens (listen()), blocks in dequeue() until there is work."""

    def __init__(self, *args, idle_s: float = 30.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.wake_path = wake_path(self.filename)
        self.idle_s = idle_s
        self.bell: Bell | None = None
        self.blocking = False

    def listen(self) -> Bell:
        """Become the consumer's storage: own the doorbell's reading end; dequeue blocks."""
        self.bell = Bell(self.wake_path)
        self.blocking = True
        return self.bell

    def ring(self) -> None:
        if self.bell is not None:
            self.bell.notify()
        else:
            ring(self.wake_path)

    def enqueue(self, data, priority=None):
        super().enqueue(data, priority)
        self.ring()

    def add_to_schedule(self, data, ts):
        super().add_to_schedule(data, ts)
        self.ring()

    def dequeue(self):
        bell = self.bell
        if bell is None:
            return super().dequeue()
        seen = bell.generation
        data = super().dequeue()
        if data is None and not bell.closed:
            bell.wait(seen, self.idle_s)
        return data

    def next_due(self) -> float | None:
        """The earliest scheduled time (huey's timestamp scale), or None."""
        rows = self.sql("select min(timestamp) from schedule where queue = ?", (self.name,),
                        results=True)
        return rows[0][0] if rows and rows[0][0] is not None else None


class WakingSqliteHuey(SqliteHuey):
    storage_class = WakingSqliteStorage


def make_queue(path: str | None, immediate: bool = False,
               idle_s: float = 30.0) -> SqliteHuey:
    """A queue on `path`; immediate=True runs tasks inline in memory (unit tests)."""
    if immediate or not path:
        return SqliteHuey(QUEUE_NAME, immediate=True, results=False, utc=True)
    return WakingSqliteHuey(QUEUE_NAME, filename=path, journal_mode="wal", timeout=10,
                            results=False, utc=True, idle_s=idle_s)

