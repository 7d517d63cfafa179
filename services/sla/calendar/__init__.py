"""Business-time engine of the SLA service: calendars, holidays and exact arithmetic.

Pure code: the only I/O is ``load_overrides(path)`` reading the admin holiday file.
Typical use::

    calendar = BusinessCalendar(overrides=load_overrides(DEFAULT_OVERRIDES_PATH))
    due = business_time(calendar).add_business_time(opened_at, 24 * 3600)
"""

from .engine import (
    BusinessTime,
    add_business_time,
    business_time,
    business_time_between,
    is_open,
    next_opening,
    to_epoch,
)
from .errors import (
    CalendarError,
    HolidayFileError,
    InvalidCalendarError,
    InvalidDurationError,
    InvalidHolidayError,
    InvalidIntervalError,
    InvalidScheduleError,
    InvertedIntervalError,
    NaiveDatetimeError,
    NoWorkingTimeError,
    OutOfRangeError,
    OverlappingIntervalsError,
    StaleTimeZoneDataError,
    TargetUnreachableError,
    UnknownTimeZoneError,
)
from .holiday_book import Holiday, HolidayOverrides
from .model import BusinessCalendar
from .month_view import DayView, MonthView, month_view
from .overrides_file import DEFAULT_OVERRIDES_PATH, load_overrides, parse_overrides
from .reevaluate import OpenClock, reevaluate
from .schedule import ALWAYS_OPEN, DEFAULT_SCHEDULE, Interval, WeeklySchedule
from .timeline import Timeline

__all__ = [
    "ALWAYS_OPEN",
    "DEFAULT_OVERRIDES_PATH",
    "DEFAULT_SCHEDULE",
    "BusinessCalendar",
    "BusinessTime",
    "CalendarError",
    "DayView",
    "Holiday",
    "HolidayFileError",
    "HolidayOverrides",
    "Interval",
    "InvalidCalendarError",
    "InvalidDurationError",
    "InvalidHolidayError",
    "InvalidIntervalError",
    "InvalidScheduleError",
    "InvertedIntervalError",
    "MonthView",
    "NaiveDatetimeError",
    "NoWorkingTimeError",
    "OpenClock",
    "OutOfRangeError",
    "OverlappingIntervalsError",
    "StaleTimeZoneDataError",
    "TargetUnreachableError",
    "Timeline",
    "UnknownTimeZoneError",
    "WeeklySchedule",
    "add_business_time",
    "business_time",
    "business_time_between",
    "is_open",
    "load_overrides",
    "month_view",
    "next_opening",
    "parse_overrides",
    "reevaluate",
    "to_epoch",
]
