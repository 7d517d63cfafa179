"""Jalali (Solar Hijri) and Gregorian calendar dates, as admins and the UI write them.

Holidays are *local calendar dates*, never instants: a date is a ``datetime.date`` in
the calendar's own zone and is never converted through UTC (which would move a Tehran
holiday to the previous day for the 3.5 hours after midnight).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import jdatetime

from .errors import InvalidHolidayError

# Jalali years are ~1300-1500, Gregorian ~1900-2100: a year below this is Jalali.
JALALI_YEAR_LIMIT = 1700
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_date(text: str) -> date:
    """``"1405-01-05"`` (Jalali, by its year) or ``"2026-03-25"`` (Gregorian) to a date."""
    match = _ISO.match(text) if isinstance(text, str) else None
    if not match:
        raise InvalidHolidayError(f"a date must look like 1405-01-05 or 2026-03-25, got {text!r}")
    year, month, day = (int(part) for part in match.groups())
    try:
        if year < JALALI_YEAR_LIMIT:
            return jdatetime.date(year, month, day).togregorian()
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidHolidayError(f"no such date: {text!r}") from exc


def to_jalali(day: date) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=day)


def jalali_text(day: date) -> str:
    """``"1405-01-01"`` for 2026-03-21."""
    j = to_jalali(day)
    return f"{j.year:04d}-{j.month:02d}-{j.day:02d}"


def esfand_30(jalali_year: int) -> date | None:
    """The Gregorian date of 30 Esfand of ``jalali_year``, or None in a common year."""
    if not jdatetime.date(jalali_year, 1, 1).isleap():
        return None
    return jdatetime.date(jalali_year, 12, 30).togregorian()


def esfand_30_in_gregorian_year(year: int) -> date | None:
    """30 Esfand falls on 19-21 March, in the Jalali year that started the March before."""
    return esfand_30(year - 622)


def jalali_month_days(jalali_year: int, jalali_month: int) -> list[date]:
    """Every Gregorian date of one Jalali month (29-31 of them)."""
    if not (1 <= jalali_month <= 12):
        raise ValueError(f"Jalali month must be 1-12, got {jalali_month}")
    first = jdatetime.date(jalali_year, jalali_month, 1).togregorian()
    if jalali_month == 12:
        following = jdatetime.date(jalali_year + 1, 1, 1).togregorian()
    else:
        following = jdatetime.date(jalali_year, jalali_month + 1, 1).togregorian()
    return [first + timedelta(days=n) for n in range((following - first).days)]
