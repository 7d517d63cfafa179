"""The calendar of one Jalali month for the UI: both dates, hours and holiday names.

Admins and customers read Jalali dates; logs and the API use Gregorian ones, so each
day carries both, and the holiday names come in Persian and English.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import jdatetime

from .dates import jalali_month_days, jalali_text
from .model import BusinessCalendar

WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class HolidayName:
    name_fa: str
    name_en: str
    source: str


@dataclass(frozen=True)
class DayView:
    jalali: str  # "1405-01-01"
    gregorian: str  # "2026-03-21"
    weekday_fa: str
    weekday_en: str
    holidays: tuple[HolidayName, ...]
    working_intervals: tuple[str, ...]  # local "09:00-17:00"; none on holidays
    working_seconds: int

    @property
    def is_working_day(self) -> bool:
        return self.working_seconds > 0


@dataclass(frozen=True)
class MonthView:
    jalali_year: int
    jalali_month: int
    month_name_fa: str
    month_name_en: str
    time_zone: str
    days: tuple[DayView, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def day_view(calendar: BusinessCalendar, day: date) -> DayView:
    intervals = calendar.working_intervals_on(day)
    weekday = day.weekday()
    return DayView(
        jalali=jalali_text(day),
        gregorian=day.isoformat(),
        # jdatetime's weekday names start on Saturday, date.weekday() on Monday.
        weekday_fa=jdatetime.date.j_weekdays_fa[(weekday + 2) % 7],
        weekday_en=WEEKDAY_EN[weekday],
        holidays=tuple(
            HolidayName(h.name_fa, h.name_en, h.source) for h in calendar.holidays_on(day)
        ),
        working_intervals=tuple(str(interval) for interval in intervals),
        working_seconds=sum(interval.seconds for interval in intervals),
    )


def month_view(calendar: BusinessCalendar, jalali_year: int, jalali_month: int) -> MonthView:
    """Every day of Jalali month ``jalali_month`` of ``jalali_year`` on ``calendar``."""
    return MonthView(
        jalali_year=jalali_year,
        jalali_month=jalali_month,
        month_name_fa=jdatetime.date.j_months_fa[jalali_month - 1],
        month_name_en=jdatetime.date.j_months_en[jalali_month - 1],
        time_zone=calendar.time_zone,
        days=tuple(day_view(calendar, day) for day in jalali_month_days(jalali_year, jalali_month)),
    )
