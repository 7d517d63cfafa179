"""A brute-force oracle and hypothesis strategies for the business-time property tests.

The oracle knows nothing of timelines or bisection: it converts each instant to local
time with the zone and asks the weekly schedule and the holiday list whether that
second is working time, then walks. To keep walks fast it steps a whole minute when the
instant is on a minute boundary: the test calendars only have minute-aligned interval
bounds and zones with whole-minute offsets (Tehran +03:30, UTC), so a local minute is
either all working or all closed. Everything else is walked second by second.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from services.sla.calendar import (
    ALWAYS_OPEN,
    BusinessCalendar,
    Holiday,
    HolidayOverrides,
    Interval,
    WeeklySchedule,
)

WALK_LIMIT = 120 * 86400  # the oracle gives up (test failure) rather than loop forever


class Oracle:
    def __init__(self, calendar: BusinessCalendar) -> None:
        self.zone = ZoneInfo(calendar.time_zone)
        self.days = [
            [(iv.start, iv.end) for iv in calendar.schedule.intervals_on(weekday)]
            for weekday in range(7)
        ]
        self.calendar = calendar
        self._holidays: dict[int, set[date]] = {}

    def _is_holiday(self, day: date) -> bool:
        if day.year not in self._holidays:
            self._holidays[day.year] = set(self.calendar.holidays_in(day.year))
        return day in self._holidays[day.year]

    def is_open(self, t: int) -> bool:
        local = datetime.fromtimestamp(t, self.zone)
        if self._is_holiday(local.date()):
            return False
        second = local.hour * 3600 + local.minute * 60 + local.second
        return any(start <= second < end for start, end in self.days[local.weekday()])

    def add(self, t: int, seconds: int) -> int:
        """First instant by which ``seconds`` working seconds after ``t`` have passed
        (for 0: the first working instant at or after ``t``)."""
        x, remaining = t, seconds
        if remaining == 0:
            while not self.is_open(x):
                step = 60 if x % 60 == 0 else 1
                x += step
                assert x - t < WALK_LIMIT
            return x
        while remaining > 0:
            is_open = self.is_open(x)
            step = 60 if x % 60 == 0 and (remaining >= 60 or not is_open) else 1
            if is_open:
                remaining -= step
            x += step
            assert x - t < WALK_LIMIT
        return x

    def between(self, a: int, b: int) -> int:
        """Working seconds in ``[a, b)`` (negated when ``b < a``)."""
        if b < a:
            return -self.between(b, a)
        x, total = a, 0
        while x < b:
            step = 60 if x % 60 == 0 and x + 60 <= b else 1
            if self.is_open(x):
                total += step
            x += step
        return total


ZONES = ("Asia/Tehran", "UTC")
# Gregorian year ends, the Nowruz break (20-21 March) and anything else.
ANCHORS = st.one_of(
    st.sampled_from([date(year, 12, 30) for year in range(2023, 2027)]),
    st.sampled_from([date(year, 3, 18) for year in range(2024, 2028)]),
    st.dates(date(2023, 1, 1), date(2027, 12, 1)),
)


@st.composite
def day_intervals(draw: st.DrawFn) -> tuple[Interval, ...]:
    kind = draw(st.sampled_from(["closed", "all day", "office", "random"]))
    if kind == "closed":
        return ()
    if kind == "all day":
        return (Interval(0, 86400),)
    if kind == "office":  # with or without a lunch break
        if draw(st.booleans()):
            return (Interval(9 * 3600, 12 * 3600), Interval(13 * 3600, 17 * 3600))
        return (Interval(9 * 3600, 17 * 3600),)
    points = sorted(draw(st.lists(st.integers(0, 1440), min_size=2, max_size=6, unique=True)))
    pairs = list(zip(points[::2], points[1::2], strict=False))
    return tuple(Interval(a * 60, b * 60) for a, b in pairs)


@st.composite
def schedules(draw: st.DrawFn) -> WeeklySchedule:
    if draw(st.integers(0, 9)) == 0:
        return ALWAYS_OPEN
    days = draw(st.lists(day_intervals(), min_size=7, max_size=7).filter(any))
    return WeeklySchedule(tuple(days))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[BusinessCalendar, int]:
    """A random calendar and the local midnight (epoch) of an anchor date to test around."""
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(ANCHORS)
    added = {anchor + timedelta(days=d) for d in draw(st.lists(st.integers(-3, 25), max_size=6))}
    removed = {anchor + timedelta(days=d) for d in draw(st.lists(st.integers(-3, 25), max_size=4))}
    layers = (
        HolidayOverrides(tuple(Holiday(day, "x", "x") for day in sorted(added))),
        HolidayOverrides(remove=frozenset(removed)),
    )
    calendar = BusinessCalendar(
        time_zone=zone,
        schedule=draw(schedules()),
        official_holidays=draw(st.booleans()),
        esfand_30_holiday=draw(st.booleans()),
        overrides=layers,
    )
    midnight = int(
        datetime(anchor.year, anchor.month, anchor.day, tzinfo=ZoneInfo(zone)).timestamp()
    )
    return calendar, midnight
