"""The weekly schedule: per weekday, the working intervals in local wall-clock time.

Intervals are half-open ``[start, end)`` in seconds after local midnight, so 17:00 is
the first closed second and ``24:00`` (86,400) lets a day run to midnight: a 24/7
calendar is ``00:00-24:00`` every day and loses no minute at midnight. An interval
never crosses midnight; a night shift is written as two intervals on two weekdays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import (
    InvalidIntervalError,
    InvalidScheduleError,
    InvertedIntervalError,
    NoWorkingTimeError,
    OverlappingIntervalsError,
)

DAY_SECONDS = 86_400
# datetime.weekday() order: Monday is 0. The Iranian week starts on Saturday (5).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_time_of_day(text: str) -> int:
    """Seconds after midnight for ``HH:MM`` or ``HH:MM:SS``; ``24:00`` is 86,400."""
    match = _TIME.match(text) if isinstance(text, str) else None
    if not match:
        raise InvalidIntervalError(f"time of day must look like 09:00 or 09:00:30, got {text!r}")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise InvalidIntervalError(f"no such time of day: {text!r}")
    return hours * 3600 + minutes * 60 + seconds


def format_time_of_day(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


@dataclass(frozen=True, order=True)
class Interval:
    """One working stretch of a day, ``[start, end)`` in seconds after local midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidIntervalError(f"interval bounds must be whole seconds: {value!r}")
        if not (0 <= self.start <= DAY_SECONDS and 0 <= self.end <= DAY_SECONDS):
            raise InvalidIntervalError(f"interval {self} lies outside 00:00-24:00")
        if self.start >= self.end:
            hint = ""
            if self.end < self.start:
                hint = (
                    f"; an interval cannot cross midnight: write "
                    f"{format_time_of_day(self.start)}-24:00 on one day and "
                    f"00:00-{format_time_of_day(self.end)} on the next"
                )
            raise InvertedIntervalError(f"interval {self} is inverted or empty{hint}")

    @classmethod
    def parse(cls, value: str | tuple[str, str] | Interval) -> Interval:
        """Read ``"09:00-17:00"`` or ``("09:00", "17:00")``."""
        if isinstance(value, Interval):
            return value
        if isinstance(value, str):
            parts = value.split("-")
            if len(parts) != 2:
                raise InvalidIntervalError(f"interval must look like 09:00-17:00, got {value!r}")
        elif isinstance(value, list | tuple) and len(value) == 2:
            parts = list(value)
        else:
            raise InvalidIntervalError(f"interval must look like 09:00-17:00, got {value!r}")
        return cls(parse_time_of_day(parts[0]), parse_time_of_day(parts[1]))

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{format_time_of_day(self.start)}-{format_time_of_day(self.end)}"


def _normalise_day(weekday: str, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort, refuse overlaps, and join touching intervals (12:00-13:00 after 09:00-12:00),
    so two schedules that mean the same thing compare (and cache) equal."""
    ordered = sorted(intervals)
    merged: list[Interval] = []
    for interval in ordered:
        if merged and interval.start < merged[-1].end:
            raise OverlappingIntervalsError(
                f"{weekday}: intervals {merged[-1]} and {interval} overlap"
            )
        if merged and interval.start == merged[-1].end:
            merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return tuple(merged)


@dataclass(frozen=True)
class WeeklySchedule:
    """Working intervals per weekday, indexed like ``date.weekday()`` (Monday is 0)."""

    days: tuple[tuple[Interval, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise InvalidScheduleError("a weekly schedule has exactly 7 days")
        days = tuple(
            _normalise_day(WEEKDAYS[index], intervals) for index, intervals in enumerate(self.days)
        )
        object.__setattr__(self, "days", days)
        if not any(days):
            raise NoWorkingTimeError("the weekly schedule has no working time at all")

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, Iterable[str | tuple[str, str] | Interval]]
    ) -> WeeklySchedule:
        """Build from ``{"saturday": ["09:00-12:00", "13:00-17:00"], ...}``.

        Weekdays left out are closed, so a config lists only the days that work.
        """
        if not isinstance(mapping, Mapping):
            raise InvalidScheduleError("a weekly schedule maps weekday names to intervals")
        days: list[list[Interval]] = [[] for _ in WEEKDAYS]
        for name, intervals in mapping.items():
            key = name.strip().lower() if isinstance(name, str) else name
            if key not in WEEKDAYS:
                raise InvalidScheduleError(f"unknown weekday {name!r}; use one of {WEEKDAYS}")
            if isinstance(intervals, str):
                intervals = [intervals]
            days[WEEKDAYS.index(key)] = [Interval.parse(value) for value in intervals]
        return cls(tuple(tuple(day) for day in days))

    def to_mapping(self) -> dict[str, list[str]]:
        return {WEEKDAYS[i]: [str(iv) for iv in day] for i, day in enumerate(self.days) if day}

    def intervals_on(self, weekday: int) -> tuple[Interval, ...]:
        return self.days[weekday]

    @property
    def weekly_seconds(self) -> int:
        return sum(interval.seconds for day in self.days for interval in day)


DEFAULT_SCHEDULE = WeeklySchedule.from_mapping(
    {day: ["09:00-17:00"] for day in ("saturday", "sunday", "monday", "tuesday", "wednesday")}
)
ALWAYS_OPEN = WeeklySchedule.from_mapping({day: ["00:00-24:00"] for day in WEEKDAYS})
