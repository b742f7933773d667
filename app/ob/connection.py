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


def connect(host: str, port: int, password: str, config: Mapping[str, Any],
            user: str = SYS_USER) -> pymysql.connections.Connection:
    """Open a connection as root@sys; TLS only when OB_TLS is set."""
    options: dict[str, Any] = {}
    if not config.get("OB_TLS"):
        # Without this PyMySQL builds an SSL context on every connect (~30 ms).
        options["ssl_disabled"] = True
    try:
        return pymysql.connect(
            host=host, port=int(port), user=user, password=password,
            connect_timeout=float(config["OB_CONNECT_TIMEOUT_S"]),
            read_timeout=float(config["OB_READ_TIMEOUT_S"]),
            write_timeout=float(config["OB_READ_TIMEOUT_S"]),
            autocommit=True, charset="utf8mb4",
            init_command=f"SET time_zone = '{SESSION_TIME_ZONE}'", **options)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a typed ObError
        raise map_error(exc) from None


@contextlib.contextmanager
def session(host: str, port: int, password: str, config: Mapping[str, Any]
            ) -> Iterator[pymysql.connections.Connection]:
    """A connection that is always closed, whatever happens inside."""
    conn = connect(host, port, password, config)
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
