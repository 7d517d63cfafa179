"""Which local dates are holidays: the official Iranian list, the 30 Esfand setting,
then admin overrides, in that order.

The fixed Solar Hijri holidays and the (estimated, then confirmed) lunar ones come from
the maintained ``holidays`` package (country IR). Lunar holidays are fixed by moon
sighting and the government adds closures at short notice, so admins can add and
remove dates on top; a later override layer wins over an earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

import holidays as holidays_package

from .dates import esfand_30_in_gregorian_year
from .errors import InvalidHolidayError

# The holidays package computes Iran's fixed days from 1980 and the Persian calendar to
# 2100: outside these years no holiday list can be trusted.
MIN_YEAR = 1980
MAX_YEAR = 2099
OFFICIAL = "official"
OVERRIDE = "override"
LABOUR_LAW = "labour-law"
ESFAND_30_PACKAGE_NAME = "Last Day of Year"
ESFAND_30_NAME_FA = "سی‌ام اسفند (سال کبیسه، قانون کار)"
ESFAND_30_NAME_EN = "30 Esfand (leap year, Labour Law)"
DEFAULT_NAME_FA = "تعطیلی اعلام‌شده"
DEFAULT_NAME_EN = "Announced closure"


@dataclass(frozen=True)
class Holiday:
    """One named holiday on one local date; a date may carry several."""

    date: date
    name_fa: str
    name_en: str
    source: str = OVERRIDE


def _check_date(value: object) -> date:
    # datetime is a date subclass: refuse it, its time and zone would be ignored silently.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidHolidayError(f"a holiday is a local date, not {value!r}")
    return value


@dataclass(frozen=True)
class HolidayOverrides:
    """One layer of admin changes: dates to add (with names) and dates to remove."""

    add: tuple[Holiday, ...] = ()
    remove: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        add = tuple(self.add)
        remove = frozenset(_check_date(day) for day in self.remove)
        for holiday in add:
            if not isinstance(holiday, Holiday):
                raise InvalidHolidayError(f"not a Holiday: {holiday!r}")
            _check_date(holiday.date)
            if holiday.date in remove:
                raise InvalidHolidayError(f"{holiday.date} is both added and removed")
        object.__setattr__(self, "add", add)
        object.__setattr__(self, "remove", remove)

    @classmethod
    def of(
        cls, add: Iterable[date | Holiday] = (), remove: Iterable[date] = ()
    ) -> HolidayOverrides:
        """Shorthand: bare dates get the generic "announced closure" name."""
        holidays = tuple(
            day
            if isinstance(day, Holiday)
            else Holiday(_check_date(day), DEFAULT_NAME_FA, DEFAULT_NAME_EN)
            for day in add
        )
        return cls(holidays, frozenset(remove))


@lru_cache(maxsize=256)
def official_holidays(year: int) -> Mapping[date, tuple[Holiday, ...]]:
    """The ``holidays`` package's list for one Gregorian year, in Persian and English."""
    fa = holidays_package.country_holidays("IR", years=year, language="fa_IR")
    en = holidays_package.country_holidays("IR", years=year, language="en_US")
    book: dict[date, tuple[Holiday, ...]] = {}
    for day in sorted(fa):
        names_fa = fa.get_list(day)
        names_en = en.get_list(day) if day in en else []
        book[day] = tuple(
            Holiday(day, name, names_en[i] if i < len(names_en) else name, OFFICIAL)
            for i, name in enumerate(names_fa)
        )
    return book


def _apply_esfand_30(book: dict[date, tuple[Holiday, ...]], year: int, observed: bool) -> None:
    day = esfand_30_in_gregorian_year(year)
    if day is None:
        return
    present = book.get(day, ())
    if observed:
        if not present:
            book[day] = (Holiday(day, ESFAND_30_NAME_FA, ESFAND_30_NAME_EN, LABOUR_LAW),)
        return
    kept = tuple(h for h in present if not h.name_en.startswith(ESFAND_30_PACKAGE_NAME))
    if kept:
        book[day] = kept
    else:
        book.pop(day, None)


def resolve_holidays(
    year: int,
    *,
    official: bool,
    esfand_30_holiday: bool,
    overrides: Iterable[HolidayOverrides],
) -> dict[date, tuple[Holiday, ...]]:
    """Every holiday of one Gregorian year (local dates) after all settings and layers."""
    book: dict[date, tuple[Holiday, ...]] = {}
    if official:
        # 30 Esfand is a setting on top of the official list: without that list (a 24/7
        # desk that works through holidays) there is nothing to add it to.
        book.update(official_holidays(year))
        _apply_esfand_30(book, year, esfand_30_holiday)
    for layer in overrides:
        for day in layer.remove:
            if day.year == year:
                book.pop(day, None)
        for holiday in layer.add:
            if holiday.date.year == year:
                book[holiday.date] = (*book.get(holiday.date, ()), holiday)
    return book
