"""PyMySQL connections to an observer, always with explicit timeouts."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping, Sequence

import pymysql

from app.ob.errors import map_error

SYS_USER = "root@sys"
# A sys tenant starts every session at its own time zone (+08:00 by default, whatever the
# host's), and the views give START_SERVICE_TIME and friends in the session's zone. obscale's
# sessions run in UTC, so every time it reads is UTC (app.ob.sql makes them aware).
SESSION_TIME_ZONE = "+00:00"
MICROSECONDS = 1_000_000


def connect(host: str, port: int, password: str | bytes, config: Mapping[str, Any],
            user: str | bytes = SYS_USER, query_timeout_s: float | None = None
            ) -> pymysql.connections.Connection:
    """Open a connection as root@sys; TLS only when OB_TLS is set.

    With `query_timeout_s` the session's ob_query_timeout is that long (OceanBase's default is
    10 s), and the client's read timeout stays OB_READ_TIMEOUT_S above it, so that the server's
    own 4012 arrives before the client gives up on the answer.
    """
    options: dict[str, Any] = {}
    if not config.get("OB_TLS"):
        # Without this PyMySQL builds an SSL context on every connect (~30 ms).
        options["ssl_disabled"] = True
    init_command = f"SET time_zone = '{SESSION_TIME_ZONE}'"
    read_timeout = float(config["OB_READ_TIMEOUT_S"])
    if query_timeout_s:
        init_command += f", ob_query_timeout = {query_timeout_us(query_timeout_s)}"
        read_timeout += float(query_timeout_s)
    try:
        return pymysql.connect(
            host=host, port=int(port), user=user, password=password,
            connect_timeout=float(config["OB_CONNECT_TIMEOUT_S"]),
            read_timeout=read_timeout, write_timeout=float(config["OB_READ_TIMEOUT_S"]),
            autocommit=True, charset="utf8mb4", init_command=init_command, **options)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a typed ObError
        raise map_error(exc) from None


def query_timeout_us(seconds: float) -> int:
    """ob_query_timeout counts microseconds."""
    return max(1, int(round(float(seconds) * MICROSECONDS)))


@contextlib.contextmanager
def session(host: str, port: int, password: str, config: Mapping[str, Any]
            ) -> Iterator[pymysql.connections.Connection]:
    """A connection that is always closed, whatever happens inside."""
    with _closing(connect(host, port, password, config)) as conn:
        yield conn


@contextlib.contextmanager
def long_statement_session(conn, config: Mapping[str, Any], query_timeout_s: float
                           ) -> Iterator[pymysql.connections.Connection]:
    """A second session to `conn`'s observer, as the same user, for statements that may run
    `query_timeout_s` (an ALTER SYSTEM given its stage's budget); always closed."""
    with _closing(connect(conn.host, conn.port, conn.password, config, user=conn.user,
                          query_timeout_s=query_timeout_s)) as long:
        yield long


@contextlib.contextmanager
def _closing(conn) -> Iterator[pymysql.connections.Connection]:
    try:
        yield conn
    finally:
        with contextlib.suppress(Exception):
            conn.close()


def fetch_all(conn, sql: str, args: Sequence[Any] | None = None) -> list[tuple]:
    """Run a query and return every row; errors become ObError."""
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc) from None


def execute(conn, sql: str, args: Sequence[Any] | None = None) -> None:
    """Run a statement that returns no rows."""
    fetch_all(conn, sql, args)
