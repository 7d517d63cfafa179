"""Small helpers shared by the SLA calendar tests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from services.sla.calendar import BusinessCalendar, BusinessTime

TEHRAN = ZoneInfo("Asia/Tehran")
HOUR = 3600


def tehran(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=TEHRAN)


def engine(**settings) -> BusinessTime:
    """A fresh engine (no shared cache) on a calendar with ``settings``."""
    return BusinessTime(BusinessCalendar(**settings))
