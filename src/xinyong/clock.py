"""The deployment's calendar: what "today" is for date checks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def today(timezone: str = "Asia/Shanghai") -> dt.date:
    return dt.datetime.now(ZoneInfo(timezone)).date()


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: both stores keep TIMESTAMP columns in UTC."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
