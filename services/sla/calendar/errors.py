"""Named errors of the business calendar.

Each has a stable ``code`` so the service layer can map it to a ``PasokhError`` for
RPC callers without parsing messages; this package stays free of nameko imports so it
can be used (and benchmarked) as plain Python.
"""

from __future__ import annotations

from typing import ClassVar


class CalendarError(ValueError):
    """Base of every calendar error: bad configuration or an impossible request."""

    code: ClassVar[str] = "calendar_error"


class UnknownTimeZoneError(CalendarError):
    code = "unknown_time_zone"


class StaleTimeZoneDataError(CalendarError):
    """The tz database predates 2022b: Asia/Tehran would still observe DST."""

    code = "stale_time_zone_data"


class InvalidIntervalError(CalendarError):
    """A working interval that cannot be parsed or lies outside 00:00-24:00."""

    code = "invalid_interval"


class InvertedIntervalError(InvalidIntervalError):
    code = "inverted_interval"


class OverlappingIntervalsError(InvalidIntervalError):
    code = "overlapping_intervals"


class InvalidScheduleError(CalendarError):
    code = "invalid_schedule"


class NoWorkingTimeError(CalendarError):
    code = "no_working_time"


class InvalidHolidayError(CalendarError):
    """A holiday date that cannot be read, or one added and removed at once."""

    code = "invalid_holiday"


class HolidayFileError(CalendarError):
    code = "invalid_holiday_file"


class InvalidCalendarError(CalendarError):
    code = "invalid_calendar"


class NaiveDatetimeError(CalendarError):
    """Instants must be aware: a naive one would silently be read in the wrong zone."""

    code = "naive_datetime"


class InvalidDurationError(CalendarError):
    code = "invalid_duration"


class TargetUnreachableError(CalendarError):
    """No (or not enough) working time within the horizon: never search forever."""

    code = "target_unreachable"


class OutOfRangeError(CalendarError):
    """An instant outside the years whose holidays can be computed."""

    code = "out_of_range"
