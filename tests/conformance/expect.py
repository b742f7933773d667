"""Assertion helpers shared by the conformance tests."""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

import peewee
import pymysql
import pytest

from tests.conformance.targets import Target


def per_target(target: Target, **expected: Any) -> Any:
    """An explained per-target expectation; every target must be named (no silent default)."""
    return expected[target.name]


@contextlib.contextmanager
def mysql_error(code: int, message_start: str = "") -> Iterator[Any]:
    """Expect a MySQL error `code` (raw PyMySQL or wrapped by peewee) whose text starts so."""
    with pytest.raises((pymysql.MySQLError, peewee.PeeweeException)) as info:
        yield info
    args = info.value.args
    assert args and args[0] == code, f"expected error {code}, got {args!r}"
    assert str(args[1]).startswith(message_start), args[1]


def _args(args: Any) -> Any:
    """One bare parameter as a tuple (PyMySQL deprecates a single non-sequence argument)."""
    return args if args is None or isinstance(args, (tuple, list, dict)) else (args,)


def execute(conn, sql: str, args: Any = None) -> int:
    """Run one statement; return its affected-row count."""
    with conn.cursor() as cursor:
        return cursor.execute(sql, _args(args))


def rows(conn, sql: str, args: Any = None) -> list[tuple]:
    """Run one query; return its rows as tuples."""
    with conn.cursor() as cursor:
        cursor.execute(sql, _args(args))
        return list(cursor.fetchall())


def scalar(conn, sql: str, args: Any = None) -> Any:
    """The first column of the first row."""
    return rows(conn, sql, args)[0][0]


class Background:
    """Run `call` in a thread; `result()` returns its value or raises its exception."""

    def __init__(self, call: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], Any]) -> None:
        try:
            self._value = call()
        except BaseException as error:  # handed to the test thread by result()
            self._error = error

    def still_running_after(self, seconds: float) -> bool:
        """True when the call has not returned within `seconds` (it is blocked)."""
        self._thread.join(seconds)
        return self._thread.is_alive()

    def result(self, timeout: float = 30.0) -> Any:
        """The call's value (its exception re-raised here); fails after `timeout`."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the background call did not return in {timeout} s"
        if self._error is not None:
            raise self._error
        return self._value
