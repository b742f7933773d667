"""Session time zones: `+08:00`-style offsets and `SYSTEM`, as OceanBase takes them.

Named zones ('UTC', 'Asia/Shanghai') are 1298 on a tenant whose time zone tables were never
imported, which is what a fresh cluster has (measured on seekdb); obemu has no such tables.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from obemu.constants import DEFAULT_TIME_ZONE
from obemu.errors import ob_error

__all__ = ["DEFAULT_TIME_ZONE", "format_datetime", "from_utc_text", "local_text", "parse",
           "to_epoch"]
RE_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{1,2}):(?P<minutes>\d{2})$")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=64)
def parse(name: str) -> tzinfo:
    """The tzinfo for a time_zone value; 1298 for anything OceanBase would refuse."""
    text = str(name).strip()
    match = RE_OFFSET.match(text)
    if match:
        minutes = int(match["hours"]) * 60 + int(match["minutes"])
        minutes = -minutes if match["sign"] == "-" else minutes
        if int(match["minutes"]) < 60 and -(12 * 60 + 59) <= minutes <= 13 * 60:
            return timezone(timedelta(minutes=minutes))
    elif text.upper() == "SYSTEM":
        return datetime.now().astimezone().tzinfo or timezone.utc
    raise ob_error(1298, zone=text)


def local_text(epoch: float, tz: tzinfo, fsp: int = 0) -> str:
    """`YYYY-MM-DD HH:MM:SS[.ffffff]` of an instant in `tz`, with fsp fractional digits."""
    moment = datetime.fromtimestamp(epoch, tz)
    return format_datetime(moment.replace(tzinfo=None), fsp)


def format_datetime(moment: datetime, fsp: int = 0) -> str:
    """A naive datetime as MySQL prints it with fsp (0..6) fractional digits."""
    text = moment.strftime(DATETIME_FORMAT)
    if fsp > 0:
        text += "." + f"{moment.microsecond:06d}"[:fsp]
    return text


def to_epoch(moment: datetime, tz: tzinfo) -> float:
    """A naive datetime read in `tz`, as seconds since the epoch."""
    return moment.replace(tzinfo=tz).timestamp()


def from_utc_text(text: str, tz: tzinfo) -> datetime:
    """A stored UTC time text as a naive datetime in `tz` (how the views present times)."""
    moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).replace(tzinfo=None)
