"""SQLite functions and converters that give translated statements MySQL's semantics.

Functions that depend on the session (its time zone, the statement's start time,
LAST_INSERT_ID) read a `FunctionContext` the session updates before every statement, so a
translated statement can be cached and reused.
"""
from __future__ import annotations

import math
import sqlite3
import struct
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from obemu.errors import ObError, ob_error
from obemu.sql import timezone as tz

UNIT_SECONDS = {"MICROSECOND": 1e-6, "SECOND": 1, "MINUTE": 60, "HOUR": 3600, "DAY": 86400,
                "WEEK": 7 * 86400}


@dataclass
class FunctionContext:
    """What session-dependent functions read; refreshed by the session per statement."""

    zone: tzinfo
    started: float = field(default_factory=time.time)
    last_insert_id: int = 0
    row_count: int = -1
    database: str | None = None
    user: str = "root"
    connection_id: int = 0
    ob_version: str = ""
    variable: Callable[[str], Any] = lambda name: None
    error: ObError | None = None

    def fail(self, error: ObError) -> None:
        """Remember the error for the session, then abort the statement from inside SQLite."""
        self.error = error
        raise error


def parse_datetime(value: Any) -> datetime | None:
    """A MySQL datetime literal (text, number or datetime) as a naive datetime, None if not."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    text = value.decode() if isinstance(value, bytes) else str(value)
    text = text.strip().replace("T", " ")
    if text.replace(".", "", 1).isdigit() and len(text.split(".")[0]) == 14:
        text = f"{text[:4]}-{text[4:6]}-{text[6:8]} {text[8:10]}:{text[10:12]}:{text[12:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _add_interval(value: Any, amount: Any, unit: str) -> str | None:
    moment = parse_datetime(value)
    if moment is None or amount is None:
        return None
    unit = unit.upper()
    if unit in ("MONTH", "QUARTER", "YEAR"):
        months = int(amount) * {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit]
        year, month = divmod(moment.month - 1 + months, 12)
        day = min(moment.day, _days_in(moment.year + year, month + 1))
        moment = moment.replace(year=moment.year + year, month=month + 1, day=day)
    else:
        moment += timedelta(seconds=float(amount) * UNIT_SECONDS[unit])
    return tz.format_datetime(moment, 6 if moment.microsecond else 0)


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _timestampdiff(unit: str, start: Any, end: Any) -> int | None:
    first, second = parse_datetime(start), parse_datetime(end)
    if first is None or second is None:
        return None
    unit = unit.upper()
    if unit in ("MONTH", "QUARTER", "YEAR"):
        months = (second.year - first.year) * 12 + second.month - first.month
        if months > 0 and (second.day, second.time()) < (first.day, first.time()):
            months -= 1
        elif months < 0 and (second.day, second.time()) > (first.day, first.time()):
            months += 1
        return int(months / {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit])
    return int((second - first).total_seconds() / UNIT_SECONDS[unit])


# A FLOAT column reaches clients with 6 significant digits (measured on seekdb: an epoch time
# of 1796165729.66 reads back as 1796170000.0), as MySQL's %g-style text of a float.
FLOAT_DIGITS = 6


def float32(value: Any) -> float | None:
    """A value as MySQL's FLOAT stores it (single precision)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if math.isinf(number) or math.isnan(number):
        return number
    return struct.unpack("f", struct.pack("f", number))[0]


def same(left: Any, right: Any) -> int:
    """Whether an assignment leaves the value unchanged (byte-wise, as MySQL decides it)."""
    if left is None or right is None:
        return int(left is None and right is None)
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return int(left == right)
    if isinstance(left, (int, float)) != isinstance(right, (int, float)):
        try:
            return int(float(left) == float(right))
        except (TypeError, ValueError):
            return 0
    return int(type(left) is type(right) and left == right)


class SessionFunctions:
    """The functions of one session's connection, bound to its FunctionContext."""

    def __init__(self, context: FunctionContext):
        self.ctx = context

    def now(self, fsp: int = 0) -> str:
        return tz.local_text(self.ctx.started, self.ctx.zone, int(fsp or 0))

    def utc_now(self, fsp: int = 0) -> str:
        return tz.local_text(self.ctx.started, tz.parse("+00:00"), int(fsp or 0))

    def unix_timestamp(self, value: Any = None) -> Any:
        if value is None:
            return int(self.ctx.started)
        moment = parse_datetime(value)
        if moment is None:
            return None
        epoch = tz.to_epoch(moment, self.ctx.zone)
        return round(epoch, 6) if moment.microsecond else int(epoch)

    def from_unixtime(self, epoch: Any) -> str | None:
        if epoch is None:
            return None
        number = float(epoch)
        return tz.local_text(number, self.ctx.zone, 6 if number % 1 else 0)

    def datetime_value(self, value: Any, fsp: int, column: str) -> str | None:
        """A value stored into a DATETIME/TIMESTAMP column: normalised, rounded to fsp."""
        if value is None:
            return None
        moment = parse_datetime(value)
        if moment is None:
            self.ctx.fail(ob_error(1292, value=str(value), column=column))
        scale = 10 ** (6 - int(fsp))
        micro = int(round(moment.microsecond / scale) * scale)
        moment = moment.replace(microsecond=0) + timedelta(microseconds=micro)
        return tz.format_datetime(moment, int(fsp))

    def varchar_value(self, value: Any, length: int, column: str) -> Any:
        """A value stored into a CHAR/VARCHAR(n) column; 1406 when it is too long."""
        if isinstance(value, str) and len(value) > int(length):
            self.ctx.fail(ob_error(1406, column=column, row="1"))
        return value

    def register(self, conn: sqlite3.Connection) -> None:
        ctx = self.ctx
        functions: list[tuple[str, int, Callable]] = [
            ("emu_now", 1, self.now), ("emu_now", 0, self.now),
            ("emu_utc_now", 1, self.utc_now), ("emu_utc_now", 0, self.utc_now),
            ("emu_curdate", 0, lambda: self.now()[:10]),
            ("emu_curtime", 1, lambda fsp: self.now(fsp)[11:]),
            ("emu_unix_timestamp", 0, self.unix_timestamp),
            ("emu_unix_timestamp", 1, self.unix_timestamp),
            ("emu_from_unixtime", 1, self.from_unixtime),
            ("emu_date_add", 3, _add_interval),
            ("emu_timestampdiff", 3, _timestampdiff),
            ("emu_last_insert_id", 0, lambda: ctx.last_insert_id),
            ("emu_row_count", 0, lambda: ctx.row_count),
            ("emu_database", 0, lambda: ctx.database),
            ("emu_user", 0, lambda: ctx.user),
            ("emu_connection_id", 0, lambda: ctx.connection_id),
            ("emu_var", 1, ctx.variable),
            ("ob_version", 0, lambda: ctx.ob_version),
            ("emu_same", 2, same),
            ("emu_float", 1, float32),
            ("emu_datetime", 3, self.datetime_value),
            ("emu_varchar", 3, self.varchar_value),
        ]
        for name, arity, function in functions:
            conn.create_function(name, arity, function)


def _convert_datetime(raw: bytes) -> Any:
    text = raw.decode()
    moment = parse_datetime(text)
    return text if moment is None else moment


def _convert_date(raw: bytes) -> Any:
    text = raw.decode()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return text


def _convert_time(raw: bytes) -> Any:
    text = raw.decode()
    sign = -1 if text.startswith("-") else 1
    hours, _, rest = text.lstrip("-").partition(":")
    minutes, _, seconds = rest.partition(":")
    try:
        return sign * timedelta(hours=int(hours), minutes=int(minutes or 0),
                                seconds=float(seconds or 0))
    except ValueError:
        return text


def _convert_decimal(raw: bytes) -> Any:
    try:
        return Decimal(raw.decode())
    except InvalidOperation:
        return raw.decode()


def _convert_float(raw: bytes) -> Any:
    try:
        return float(f"{float(raw):.{FLOAT_DIGITS}g}")
    except ValueError:
        return raw.decode()


def register_converters() -> None:
    """Column types (declared types) whose stored values reach clients as Python objects."""
    sqlite3.register_converter("DATETIME", _convert_datetime)
    sqlite3.register_converter("DATE", _convert_date)
    sqlite3.register_converter("TIME", _convert_time)
    sqlite3.register_converter("DECIMAL", _convert_decimal)
    sqlite3.register_converter("FLOAT", _convert_float)
