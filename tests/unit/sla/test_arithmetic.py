"""Semantics of the arithmetic on chosen cases: closing times, nights, holidays, lunch
breaks, half days, 24/7 calendars across midnight and DST, and local holiday dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.sla.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    HolidayOverrides,
    WeeklySchedule,
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
)

from .support import HOUR, TEHRAN, engine, tehran

# 2025-05-03 is a Saturday with no holiday in its week (Sat 3 - Fri 9 May 2025).
SAT = date(2025, 5, 3)


def at(days: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    day = SAT + timedelta(days=days)
    return tehran(day.year, day.month, day.day, hour, minute, second)


def test_a_deadline_at_closing_time_is_that_closing_time():
    default = engine()
    assert default.add_business_time(at(0, 9), 8 * HOUR) == at(0, 17)
    assert default.add_business_time(at(4, 16), HOUR) == at(4, 17)  # Wednesday, not Saturday
    assert default.add_business_time(at(4, 16), HOUR + 1) == at(7, 9, 0, 1)


def test_closing_time_itself_is_closed_and_opening_time_open():
    default = engine()
    assert default.is_open(at(0, 9))
    assert default.is_open(at(0, 16, 59, 59))
    assert not default.is_open(at(0, 17))
    assert not default.is_open(at(0, 8, 59, 59))


def test_a_ticket_opened_at_night_starts_at_the_next_opening():
    default = engine()
    assert default.add_business_time(at(1, 2), HOUR) == at(1, 10)
    assert default.add_business_time(at(0, 17, 30), HOUR) == at(1, 10)


def test_a_ticket_opened_on_the_weekend_starts_on_saturday():
    default = engine()
    assert default.add_business_time(at(5, 11), HOUR) == at(7, 10)  # Thursday -> Saturday
    assert default.next_opening(at(6, 23)) == at(7, 9)


def test_a_ticket_opened_on_a_holiday_starts_after_it():
    # 2026-04-01 (Wed, Islamic Republic Day), 2026-04-02 (Thu, Nature's Day): Sat 4 Apr.
    default = engine()
    assert default.add_business_time(tehran(2026, 4, 1, 10), HOUR) == tehran(2026, 4, 4, 10)


def test_adding_nothing_gives_the_first_business_instant():
    default = engine()
    assert default.add_business_time(at(0, 10, 30), 0) == at(0, 10, 30)
    assert default.add_business_time(at(0, 17), 0) == at(1, 9)


def test_between_counts_only_business_time_and_is_signed():
    default = engine()
    assert default.business_time_between(at(0, 16), at(1, 10)) == 2 * HOUR
    assert default.business_time_between(at(1, 10), at(0, 16)) == -2 * HOUR
    assert default.business_time_between(at(4, 17), at(6, 23)) == 0  # Wed close .. Fri
    assert default.business_time_between(at(0, 0), at(7, 0)) == 5 * 8 * HOUR


def test_next_opening_is_the_instant_itself_while_open():
    assert engine().next_opening(at(2, 12, 0, 7)) == at(2, 12, 0, 7)


def test_a_lunch_break_is_not_business_time():
    lunch = engine(
        schedule=WeeklySchedule.from_mapping({"saturday": ["09:00-12:00", "13:00-17:00"]})
    )
    assert lunch.add_business_time(at(0, 11, 30), HOUR) == at(0, 13, 30)
    assert lunch.add_business_time(at(0, 9), 3 * HOUR) == at(0, 12)  # the morning's close
    assert lunch.business_time_between(at(0, 11), at(0, 14)) == 2 * HOUR
    assert not lunch.is_open(at(0, 12, 30))
    assert lunch.next_opening(at(0, 12, 30)) == at(0, 13)


def test_a_half_day_on_thursday():
    half = engine(
        schedule=WeeklySchedule.from_mapping(
            {
                **{d: ["09:00-17:00"] for d in ("saturday", "sunday", "monday", "tuesday")},
                "wednesday": "09:00-17:00",
                "thursday": "09:00-13:00",
            }
        )
    )
    assert half.add_business_time(at(4, 16), 2 * HOUR) == at(5, 10)
    assert half.add_business_time(at(4, 16), 5 * HOUR) == at(5, 13)
    assert half.add_business_time(at(4, 16), 5 * HOUR + 1) == at(7, 9, 0, 1)


def test_24_7_loses_no_minute_at_midnight():
    always = engine(schedule=ALWAYS_OPEN, official_holidays=False)
    before_midnight = at(0, 23, 59, 30)
    assert always.add_business_time(before_midnight, 60) == at(1, 0, 0, 30)
    assert always.business_time_between(at(0, 22), at(3, 2)) == 2 * 24 * HOUR + 4 * HOUR
    assert always.is_open(at(1, 0))


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        # Europe/Berlin: spring forward (23 h day) and fall back (25 h day) in 2025.
        ("Europe/Berlin", datetime(2025, 3, 29, 12), datetime(2025, 4, 1, 12)),
        ("Europe/Berlin", datetime(2025, 10, 25, 12), datetime(2025, 10, 28, 12)),
        # Tehran's last DST changes, at midnight: 22 March and 22 September 2021.
        ("Asia/Tehran", datetime(2021, 3, 20, 12), datetime(2021, 3, 24, 12)),
        ("Asia/Tehran", datetime(2021, 9, 20, 12), datetime(2021, 9, 24, 12)),
    ],
)
def test_24_7_business_time_is_real_time_even_across_dst(zone, start, end):
    tz = ZoneInfo(zone)
    always = engine(time_zone=zone, schedule=ALWAYS_OPEN, official_holidays=False)
    a, b = start.replace(tzinfo=tz), end.replace(tzinfo=tz)
    real = int(b.timestamp() - a.timestamp())
    assert real != 72 * HOUR or zone == "Asia/Tehran"  # the Berlin spans include a change
    assert always.business_time_between(a, b) == real
    assert always.add_business_time(a, real) == b


def test_office_hours_on_a_dst_day_are_real_hours():
    # Before 2022 Tehran moved to +04:30 at midnight on 22 March 2021: 09:00-17:00 that
    # day is still 8 real hours, at +04:30.
    old = engine(
        official_holidays=False, schedule=WeeklySchedule.from_mapping({"monday": "09:00-17:00"})
    )
    monday = datetime(2021, 3, 22, 9, tzinfo=TEHRAN)
    assert monday.utcoffset() == timedelta(hours=4, minutes=30)
    assert old.add_business_time(monday, 8 * HOUR) == datetime(2021, 3, 22, 17, tzinfo=TEHRAN)


def test_holidays_are_tehran_dates_never_shifted_through_utc():
    # 24/7 desk, one closure on Wednesday 2026-03-25 (Tehran). Tehran midnight is
    # 20:30 UTC the evening before, so a UTC date would move the closure by 3.5 hours.
    closure = HolidayOverrides.of(add=[date(2026, 3, 25)])
    desk = engine(schedule=ALWAYS_OPEN, official_holidays=False, overrides=(closure,))
    assert desk.is_open(tehran(2026, 3, 24, 23, 59, 59))
    assert not desk.is_open(tehran(2026, 3, 25, 0, 0, 0))
    assert not desk.is_open(tehran(2026, 3, 25, 23, 59, 59))
    assert desk.is_open(tehran(2026, 3, 26, 0, 0, 0))
    assert not desk.is_open(datetime(2026, 3, 24, 20, 30, tzinfo=UTC))
    assert desk.is_open(datetime(2026, 3, 24, 20, 29, 59, tzinfo=UTC))
    assert desk.is_open(datetime(2026, 3, 25, 20, 30, tzinfo=UTC))
    assert desk.business_time_between(tehran(2026, 3, 24), tehran(2026, 3, 27)) == 48 * HOUR


def test_instants_in_any_zone_and_results_in_the_calendars_zone():
    start_utc = datetime(2025, 5, 3, 5, 30, tzinfo=UTC)  # Saturday 09:00 Tehran
    due = engine().add_business_time(start_utc, HOUR)
    assert due == at(0, 10)
    assert due.tzinfo == TEHRAN


def test_microseconds_are_dropped():
    start = at(0, 10).replace(microsecond=999_999)
    assert engine().add_business_time(start, 60) == at(0, 10, 1)
    assert engine().business_time_between(start, at(0, 11)) == HOUR


def test_module_functions_use_a_shared_engine_per_calendar():
    calendar = BusinessCalendar()
    assert add_business_time(calendar, at(0, 9), HOUR) == at(0, 10)
    assert business_time_between(calendar, at(0, 9), at(0, 10)) == HOUR
    assert next_opening(calendar, at(0, 8)) == at(0, 9)
    assert is_open(calendar, at(0, 9))


def test_the_timeline_grows_across_years_in_both_directions():
    default = engine()
    assert default.add_business_time(tehran(2026, 12, 30, 16), 9 * HOUR) > tehran(2027, 1, 1)
    assert default.business_time_between(tehran(2019, 1, 5), tehran(2019, 1, 6)) == 8 * HOUR
    # Both years are still right after the timeline was rebuilt around them.
    assert default.add_business_time(tehran(2026, 3, 18, 16), 24 * HOUR) == tehran(2026, 3, 29, 16)


def test_a_deadline_at_closing_time_across_a_year_end():
    # A fresh engine holds only 2024 when the search runs into 2025: the widened
    # timeline must keep the closing-time rule. Tue 2024-12-31 16:00 + 9 h: 1 h on
    # Tuesday, 8 h on Wednesday 1 January 2025, due at 17:00 that day (not Saturday).
    assert engine().add_business_time(tehran(2024, 12, 31, 16), 9 * HOUR) == tehran(2025, 1, 1, 17)
