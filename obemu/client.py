"""Small PyMySQL helpers for the admin CLI and the test fixtures (no TLS, autocommit)."""
from __future__ import annotations

from typing import Any

from obemu.config import format_addr


def connect(host: str, port: int, user: str = "root", password: str = "",
            timeout: float = 5.0, **kwargs: Any):
    """A PyMySQL connection; `ssl_disabled=True` spares the 30 ms CA-bundle load per connect."""
    import pymysql
    options = dict(host=host, port=port, user=user, password=password, ssl_disabled=True,
                   autocommit=True, connect_timeout=timeout, read_timeout=timeout,
                   write_timeout=timeout)
    options.update(kwargs)
    return pymysql.connect(**options)


def bootstrap(host: str, mysql_port: int, rpc_port: int, zone: str, password: str,
              region: str | None = None) -> None:
    """BOOTSTRAP a fresh node, then set root's password (as obd and obshell do)."""
    import pymysql
    region_clause = f"REGION '{region}' " if region else ""
    conn = connect(host, mysql_port)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"ALTER SYSTEM BOOTSTRAP {region_clause}ZONE '{zone}' "
                           f"SERVER '{format_addr(host, rpc_port)}'")
            cursor.execute("ALTER USER root IDENTIFIED BY " + pymysql.converters.escape_string(
                password).join("''"))
    finally:
        conn.close()
