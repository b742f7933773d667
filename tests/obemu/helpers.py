"""Small helpers shared by obemu's tests."""
from __future__ import annotations

from typing import Any, Callable

import pymysql

from tests.support.polling import wait_until  # noqa: F401  (shared by the obemu suite)


def rows(conn, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def execute(conn, sql: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql)


def error_of(conn, sql: str) -> tuple[int, str] | None:
    """(code, message) of the statement's error, None when it succeeds."""
    try:
        execute(conn, sql)
    except pymysql.MySQLError as error:
        return error.args[0], error.args[1]
    return None


def code_of(conn, sql: str) -> int | None:
    error = error_of(conn, sql)
    return None if error is None else error[0]


def login_error(connect: Callable[[], Any]) -> int | None:
    """The error code of a login attempt, None when it succeeds."""
    try:
        connect().close()
    except pymysql.MySQLError as error:
        return error.args[0]
    return None


def server_row(conn, addr: str) -> dict | None:
    """The DBA_OB_SERVERS row of ip:port as a dict."""
    ip, _, port = addr.rpartition(":")
    with conn.cursor(pymysql.cursors.DictCursor) as cursor:
        cursor.execute("SELECT * FROM oceanbase.DBA_OB_SERVERS WHERE SVR_IP = %s AND SVR_PORT = %s",
                       (ip, int(port)))
        return cursor.fetchone()
