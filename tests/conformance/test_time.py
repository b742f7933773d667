"""The session time_zone (+08:00 on a real kernel) and NOW()/DATETIME/UNIX_TIMESTAMP under it."""
from __future__ import annotations

import datetime
import time
from decimal import Decimal

from peewee import CharField, DateTimeField, Model

from tests.conformance.expect import execute, mysql_error, rows, scalar

EIGHT_HOURS = datetime.timedelta(hours=8)
# The server and this process read the same host clock; the bound only absorbs slow steps.
SAME_CLOCK_S = 60


def test_the_default_time_zone_is_plus_eight(ocs):
    conn = ocs.connect()
    assert rows(conn, "SELECT @@session.time_zone, @@global.time_zone") == [("+08:00", "+08:00")]


def test_now_is_the_session_zone_and_unix_timestamp_is_the_epoch(ocs):
    conn = ocs.connect()
    now, utc, epoch = rows(conn, "SELECT NOW(6), UTC_TIMESTAMP(6), UNIX_TIMESTAMP(NOW(6))")[0]
    assert isinstance(now, datetime.datetime) and isinstance(epoch, Decimal)
    assert abs((now - utc) - EIGHT_HOURS) < datetime.timedelta(seconds=1)
    assert epoch.as_tuple().exponent == -6  # six fractional digits
    assert abs(float(epoch) - time.time()) < SAME_CLOCK_S
    execute(conn, "SET time_zone = '+00:00'")
    now, utc, epoch = rows(conn, "SELECT NOW(6), UTC_TIMESTAMP(6), UNIX_TIMESTAMP(NOW(6))")[0]
    assert abs(now - utc) < datetime.timedelta(seconds=1)
    assert abs(float(epoch) - time.time()) < SAME_CLOCK_S


def test_unix_timestamp_and_from_unixtime_read_the_session_zone(ocs):
    conn = ocs.connect()
    literal = "SELECT UNIX_TIMESTAMP('1970-01-01 08:00:00'), FROM_UNIXTIME(0)"
    assert rows(conn, literal) == [(0, datetime.datetime(1970, 1, 1, 8, 0))]
    execute(conn, "SET time_zone = '+00:00'")
    assert rows(conn, literal) == [(28800, datetime.datetime(1970, 1, 1, 0, 0))]


def test_a_datetime_column_keeps_its_wall_clock_across_zones(ocs, scratch_table):
    conn = ocs.connect()
    execute(conn, f"CREATE TABLE {scratch_table} (id INT PRIMARY KEY, at DATETIME(6))")
    execute(conn, f"INSERT INTO {scratch_table} (id, at) VALUES (1, NOW(6))")
    query = f"SELECT at, UNIX_TIMESTAMP(at) FROM {scratch_table} WHERE id = 1"
    at_plus_eight, epoch_plus_eight = rows(conn, query)[0]
    assert isinstance(at_plus_eight, datetime.datetime)
    assert abs(float(epoch_plus_eight) - time.time()) < SAME_CLOCK_S
    execute(conn, "SET time_zone = '+00:00'")
    at_utc, epoch_utc = rows(conn, query)[0]
    assert at_utc == at_plus_eight  # DATETIME has no zone
    assert epoch_utc - epoch_plus_eight == 8 * 3600


def test_peewee_datetime_field_rounds_to_whole_seconds(ocs, scratch_table):
    # peewee's DateTimeField is DATETIME without a fraction, and MySQL rounds (not truncates)
    # the microseconds it is given; leases need DATETIME(6) or NOW(6) arithmetic in SQL.
    class Lease(Model):
        name = CharField(primary_key=True)
        at = DateTimeField()

        class Meta:
            database = ocs.db
            table_name = scratch_table

    Lease.create_table()
    Lease.create(name="up", at=datetime.datetime(2024, 1, 1, 0, 0, 0, 600000))
    Lease.create(name="down", at=datetime.datetime(2024, 1, 1, 0, 0, 0, 400000))
    stored = {lease.name: lease.at for lease in Lease.select()}
    assert stored == {"up": datetime.datetime(2024, 1, 1, 0, 0, 1),
                      "down": datetime.datetime(2024, 1, 1, 0, 0, 0)}


def test_named_time_zones_are_unknown(ocs):
    # OceanBase knows named zones only once its time zone tables are imported; offsets work.
    conn = ocs.connect()
    with mysql_error(1298, "Unknown or incorrect time zone: 'UTC'"):
        execute(conn, "SET time_zone = 'UTC'")
    execute(conn, "SET time_zone = '-05:30'")
    assert scalar(conn, "SELECT @@time_zone") == "-05:30"
