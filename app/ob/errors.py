"""OceanBase errors as typed exceptions that carry the server's numeric code."""
from __future__ import annotations

import pymysql

OB_ENTRY_EXIST = 4017
OB_OP_NOT_ALLOW = 4179
OB_ZONE_INFO_NOT_EXIST = 4530
OB_SERVER_ZONE_NOT_MATCH = 4631
OB_ZONE_STATUS_NOT_MATCH = 4633
OB_ZONE_NOT_ACTIVE = 4655
OB_TIMEOUT = 4012
# Stand-in for OB_SERVER_CONNECTION_ERROR, whose real number is unverified (spec §9.3).
OB_RPC_CONNECT_ERROR = 4265
ACCESS_DENIED = 1045
CR_CONN_HOST_ERROR = 2003
CR_SERVER_GONE = 2006
CR_SERVER_LOST = 2013

TRANSIENT_CODES = frozenset({CR_CONN_HOST_ERROR, CR_SERVER_GONE, CR_SERVER_LOST,
                             OB_TIMEOUT, OB_RPC_CONNECT_ERROR})


class ObError(Exception):
    """A failed statement or connection; `code` is the MySQL/OceanBase error number (0 if none)."""

    def __init__(self, code: int, message: str):
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.text = message


class ObTransientError(ObError):
    """Worth retrying within a budget: connection trouble or a timeout."""


class ObAuthError(ObError):
    """Access denied (1045)."""


def answer_lost(exc: ObError) -> bool:
    """True when a statement that was sent may still take effect although it failed: OceanBase's
    4012 (RootService goes on after the session's ob_query_timeout) or an answer the client never
    read. 4265 is RootService's own refusal (it could not reach the server), so nothing was done."""
    return isinstance(exc, ObTransientError) and exc.code != OB_RPC_CONNECT_ERROR


def map_error(exc: BaseException) -> ObError:
    """Turn a PyMySQL or socket error into ObError; only the code and server text survive."""
    if isinstance(exc, ObError):
        return exc
    code, text = 0, type(exc).__name__
    if isinstance(exc, pymysql.err.MySQLError) and exc.args:
        first = exc.args[0]
        if isinstance(first, int):
            code = first
            text = str(exc.args[1]) if len(exc.args) > 1 else ""
        else:
            text = str(first)
    elif isinstance(exc, OSError):
        code, text = CR_CONN_HOST_ERROR, f"connection failed ({type(exc).__name__})"
    if code == ACCESS_DENIED:
        return ObAuthError(code, "Access denied for user root@sys")
    if code in TRANSIENT_CODES or (code == 0 and isinstance(exc, (OSError, pymysql.err.OperationalError))):
        return ObTransientError(code, text)
    return ObError(code, text)
