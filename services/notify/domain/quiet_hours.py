"""Quiet hours: a daily window (local time) in which non-urgent SMS wait until morning.

Configured as ``"22:00-07:30"`` (a window may cross midnight) in a named time zone,
default Asia/Tehran. Empty or ``off`` means no quiet hours (the default). Verification
codes never wait: the person asked for them a second ago. Everything else (ticket
updates, SLA escalations to supervisors) is deferred to the window's end, because an
escalation at 03:00 wakes someone for nothing they can act on before the office opens
(a complaint peers' trackers kept getting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class InvalidQuietHours(ValueError):
    """The setting is not ``HH:MM-HH:MM``."""


def _clock(hours: str, minutes: str, text: str) -> time:
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise InvalidQuietHours(f"not a time of day in {text!r}")
    return time(h, m)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    zone: tzinfo

    @classmethod
    def parse(cls, text: str, zone_name: str = "Asia/Tehran") -> QuietHours | None:
        """``None`` when quiet hours are off."""
        if not text.strip() or text.strip().lower() == "off":
            return None
        match = _WINDOW.match(text)
        if not match:
            raise InvalidQuietHours(f"quiet hours must look like 22:00-07:30, got {text!r}")
        start = _clock(match.group(1), match.group(2), text)
        end = _clock(match.group(3), match.group(4), text)
        if start == end:
            raise InvalidQuietHours(f"an empty or whole-day window is not allowed: {text!r}")
        return cls(start, end, ZoneInfo(zone_name))

    def is_quiet(self, instant: datetime) -> bool:
        local = instant.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # crosses midnight

    def next_allowed(self, instant: datetime) -> datetime:
        """``instant`` itself when sending is allowed, else the end of its window."""
        if not self.is_quiet(instant):
            return instant
        local = instant.astimezone(self.zone)
        day = local.date()
        if self.start > self.end and local.time() >= self.start:
            day += timedelta(days=1)  # evening part of a window that ends tomorrow
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(instant.tzinfo)


def allowed_at(instant: datetime, quiet: QuietHours | None, urgent: bool) -> datetime:
    """When a message due at ``instant`` may go: urgent ones always at once."""
    if urgent or quiet is None:
        return instant
    return quiet.next_allowed(instant)
