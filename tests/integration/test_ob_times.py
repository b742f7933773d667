"""obscale reads the servers' times as UTC whatever time zone the sys tenant's sessions start in.

A real sys tenant starts sessions at +08:00 (obemu's default, OBEMU_TIME_ZONE), and the views give
START_SERVICE_TIME in the session's zone; obscale's connections set their own zone to UTC.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from obemu.pytest_fixtures import obemu_fleet  # noqa: F401  (pytest fixture)

from app.ob.connection import session
from app.ob.sql import server_row, servers_table
from tests.support.polling import wait_until

CONFIG = {"OB_CONNECT_TIMEOUT_S": 5, "OB_READ_TIMEOUT_S": 10}


@pytest.mark.parametrize("ip,zone", [("127.0.0.113", "+08:00"), ("127.0.0.114", "-05:30")])
def test_start_service_time_is_utc_whatever_the_session_zone(obemu_fleet, ip, zone):  # noqa: F811
    before = datetime.now(timezone.utc)
    cluster = obemu_fleet.start_cluster(ip, env={"OBEMU_TIME_ZONE": zone})
    with session(ip, cluster.mysql_port, cluster.root_password, CONFIG) as conn:
        row = wait_until(lambda: (r := server_row(conn, ip, cluster.rpc_port))
                         and r.start_service_time and r, 30)
        after = datetime.now(timezone.utc)
        assert row.start_service_time.tzinfo is timezone.utc
        assert before <= row.start_service_time <= after
        (shown,) = servers_table(conn)
        assert shown["START_SERVICE_TIME"] == row.start_service_time
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@time_zone")
            assert cursor.fetchone() == ("+00:00",)
