"""Time zones: load by name, and refuse tz data too old to know Tehran dropped DST.

Iran abolished daylight saving in 2022; tz data older than 2022b still moves Tehran's
clocks to +04:30 every spring, which would shift every deadline by an hour for half the
year without any error. So the data itself is probed once per process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import StaleTimeZoneDataError, UnknownTimeZoneError

TEHRAN = "Asia/Tehran"
TEHRAN_OFFSET = timedelta(hours=3, minutes=30)
# 1 Tir 1402, midday: under pre-2022b data this instant is in Tehran's DST (+04:30).
PROBE_INSTANT = datetime(2023, 6, 22, 8, 30, tzinfo=UTC)


def check_zone_data(tehran: tzinfo) -> None:
    """Raise unless ``tehran`` (the loaded Asia/Tehran) has no DST in summer 2023."""
    offset = PROBE_INSTANT.astimezone(tehran).utcoffset()
    if offset != TEHRAN_OFFSET:
        raise StaleTimeZoneDataError(
            f"Asia/Tehran is {offset} in summer 2023, not +03:30: the tz database is "
            "older than 2022b; update tzdata"
        )


@cache
def _checked_data() -> None:
    check_zone_data(ZoneInfo(TEHRAN))


def load_zone(name: str) -> ZoneInfo:
    """The zone called ``name``, after checking the zone data is recent enough."""
    if not isinstance(name, str) or not name:
        raise UnknownTimeZoneError(f"time zone must be a non-empty name, got {name!r}")
    _checked_data()
    return _load(name)


@cache
def _load(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownTimeZoneError(f"unknown time zone {name!r}") from exc
