"""``BusinessCalendar``: everything that decides when the clock runs, as one value.

A calendar is immutable and hashable, so the precomputed timelines can be cached per
calendar, and a change (a new closure, another schedule) is a *new* value: open clocks
are then re-evaluated against it (see ``reevaluate``), never patched in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from .errors import InvalidCalendarError
from .holiday_book import Holiday, HolidayOverrides, resolve_holidays
from .overrides_file import parse_overrides
from .schedule import DEFAULT_SCHEDULE, Interval, WeeklySchedule
from .zone import TEHRAN, load_zone

DEFAULT_HORIZON_DAYS = 366
MAX_HORIZON_DAYS = 3660


@dataclass(frozen=True)
class BusinessCalendar:
    """Time zone, weekly schedule and holidays of one department's working time.

    ``official_holidays`` takes Iran's list from the ``holidays`` package;
    ``esfand_30_holiday`` decides 30 Esfand in leap years (a Labour Law holiday missing
    from some printed calendars); ``overrides`` are admin layers applied in order (the
    data file first, then per-calendar changes). ``horizon_days`` bounds every search:
    a target that needs more working time than the horizon holds raises instead of
    searching forever.
    """

    time_zone: str = TEHRAN
    schedule: WeeklySchedule = DEFAULT_SCHEDULE
    official_holidays: bool = True
    esfand_30_holiday: bool = True
    overrides: tuple[HolidayOverrides, ...] = ()
    horizon_days: int = DEFAULT_HORIZON_DAYS

    def __post_init__(self) -> None:
        load_zone(self.time_zone)
        if not isinstance(self.schedule, WeeklySchedule):
            raise InvalidCalendarError("schedule must be a WeeklySchedule")
        if isinstance(self.overrides, HolidayOverrides):
            object.__setattr__(self, "overrides", (self.overrides,))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        if not all(isinstance(layer, HolidayOverrides) for layer in self.overrides):
            raise InvalidCalendarError("overrides must be HolidayOverrides layers")
        horizon = self.horizon_days
        if (
            not isinstance(horizon, int)
            or isinstance(horizon, bool)
            or not (1 <= horizon <= MAX_HORIZON_DAYS)
        ):
            raise InvalidCalendarError(
                f"horizon_days must be 1-{MAX_HORIZON_DAYS}, got {horizon!r}"
            )
        for flag in ("official_holidays", "esfand_30_holiday"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidCalendarError(f"{flag} must be true or false")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *extra: HolidayOverrides) -> BusinessCalendar:
        """Build from plain data as RPC or a settings file carries it.

        ``{"time_zone", "weekly_schedule": {"saturday": ["09:00-17:00"]},
        "official_holidays", "esfand_30_holiday", "holidays": {"add", "remove"},
        "horizon_days"}``; every key is optional. ``extra`` layers (e.g. the data file)
        go *before* the config's own holidays, so a calendar's admin has the last word.
        """
        known = {
            "time_zone",
            "weekly_schedule",
            "official_holidays",
            "esfand_30_holiday",
            "holidays",
            "horizon_days",
        }
        unknown = set(config) - known
        if unknown:
            raise InvalidCalendarError(f"unknown calendar settings {sorted(unknown)}")
        schedule = (
            WeeklySchedule.from_mapping(config["weekly_schedule"])
            if "weekly_schedule" in config
            else DEFAULT_SCHEDULE
        )
        layers = (*extra, parse_overrides(config["holidays"])) if "holidays" in config else extra
        return cls(
            time_zone=config.get("time_zone", TEHRAN),
            schedule=schedule,
            official_holidays=config.get("official_holidays", True),
            esfand_30_holiday=config.get("esfand_30_holiday", True),
            overrides=layers,
            horizon_days=config.get("horizon_days", DEFAULT_HORIZON_DAYS),
        )

    @property
    def zone(self) -> ZoneInfo:
        return load_zone(self.time_zone)

    def with_overrides(self, layer: HolidayOverrides) -> BusinessCalendar:
        """This calendar plus one more admin layer (e.g. a heat closure announced today)."""
        return replace(self, overrides=(*self.overrides, layer))

    def holidays_in(self, year: int) -> Mapping[date, tuple[Holiday, ...]]:
        """Holidays of one Gregorian year, by local date."""
        return _holidays_of(self, year)

    def holidays_on(self, day: date) -> tuple[Holiday, ...]:
        return self.holidays_in(day.year).get(day, ())

    def working_intervals_on(self, day: date) -> tuple[Interval, ...]:
        """Local working intervals of ``day``: none on a holiday."""
        if self.holidays_on(day):
            return ()
        return self.schedule.intervals_on(day.weekday())


@lru_cache(maxsize=1024)
def _holidays_of(calendar: BusinessCalendar, year: int) -> Mapping[date, tuple[Holiday, ...]]:
    return resolve_holidays(
        year,
        official=calendar.official_holidays,
        esfand_30_holiday=calendar.esfand_30_holiday,
        overrides=calendar.overrides,
    )
