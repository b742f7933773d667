"""The queue's doorbell: a write wakes a waiting consumer at once; no write, no wake-up."""
from __future__ import annotations

import datetime
import threading
import time

import pytest

from app.process.consumer import WakingScheduler
from app.taskqueue import make_queue, ring, wake_path


@pytest.fixture
def queues(tmp_path):
    """The consumer's queue (listening) and a web process's queue on the same file."""
    path = str(tmp_path / "queue.db")
    consumer = make_queue(path, idle_s=30.0)
    bell = consumer.storage.listen()
    web = make_queue(path)
    yield consumer, web, bell
    bell.close()


def _dequeue_in_thread(storage) -> tuple[threading.Thread, dict]:
    got: dict = {}

    def run():
        started = time.monotonic()
        got["data"] = storage.dequeue()
        got["waited"] = time.monotonic() - started
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def test_an_idle_dequeue_waits_and_another_process_write_wakes_it(queues):
    consumer, web, _ = queues
    thread, got = _dequeue_in_thread(consumer.storage)
    thread.join(0.5)
    assert thread.is_alive(), "an empty queue must not return at once (that is polling)"
    web.storage.enqueue(b"message")
    thread.join(5.0)
    assert not thread.is_alive() and got["waited"] < 5.0
    # The wait returns on the ring; the worker's next dequeue reads the message.
    assert got["data"] == b"message" or consumer.storage.dequeue() == b"message"


def test_a_schedule_write_wakes_the_waiters(queues):
    consumer, web, bell = queues
    seen = bell.generation
    web.storage.add_to_schedule(b"later", datetime.datetime(2030, 1, 1))
    assert bell.wait(seen, 5.0) is True
    assert consumer.storage.next_due() is not None


def test_nothing_written_nothing_wakes(queues):
    _, _, bell = queues
    seen = bell.generation
    started = time.monotonic()
    assert bell.wait(seen, 0.3) is False
    assert time.monotonic() - started >= 0.29


def test_close_wakes_every_waiter_for_good(queues):
    consumer, _, bell = queues
    thread, got = _dequeue_in_thread(consumer.storage)
    bell.close()
    thread.join(5.0)
    assert not thread.is_alive() and got["data"] is None
    started = time.monotonic()
    assert consumer.storage.dequeue() is None
    assert time.monotonic() - started < 1.0


def test_ring_without_a_consumer_is_dropped(tmp_path):
    assert ring(wake_path(str(tmp_path / "queue.db"))) is False  # no FIFO at all
    web = make_queue(str(tmp_path / "queue.db"))
    web.storage.enqueue(b"message")  # written, nobody rung, no error
    assert web.storage.queue_size() == 1


def test_the_scheduler_sleeps_until_the_next_due_time(queues):
    consumer, _, bell = queues
    scheduler = WakingScheduler(consumer, threading.Event(), 1, False, bell, idle_s=30.0)
    assert 29.0 < scheduler._sleep_s() <= 30.01  # nothing scheduled: the safety interval
    consumer.storage.add_to_schedule(b"soon", consumer._get_timestamp()
                                     + datetime.timedelta(seconds=2))
    assert 1.5 < scheduler._sleep_s() <= 2.01
