"""Property tests: the engine against the brute-force oracle on random calendars.

Random weekly schedules (closed days, lunch breaks, odd intervals, 24/7 days and
whole 24/7 weeks), random added and removed holidays on top of (or without) the
official Iranian list, both 30 Esfand settings, Tehran and UTC, and instants around
Gregorian year ends, the Nowruz break and anywhere in 2023-2027, inside and outside
working hours and on holidays.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sla.calendar import BusinessTime
from services.sla.calendar.errors import TargetUnreachableError

from .oracle import Oracle, scenarios

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAY = 86400


@SETTINGS
@given(scenarios(), st.data())
def test_add_matches_the_oracle_on_minute_aligned_input(scenario, data):
    calendar, midnight = scenario
    t = midnight + data.draw(st.integers(-2 * 1440, 10 * 1440), label="start minute") * 60
    most = min(calendar.schedule.weekly_seconds // 60, 3 * 1440)
    seconds = data.draw(st.integers(0, most), label="business minutes") * 60
    engine = BusinessTime(calendar)
    expected = Oracle(calendar).add(t, seconds)
    assert engine.add_epoch(t, seconds) == expected
    due = engine.add_business_time(datetime.fromtimestamp(t, UTC), seconds)
    assert int(due.timestamp()) == expected
    assert due.tzinfo == calendar.zone


@SETTINGS
@given(scenarios(), st.data())
def test_add_matches_the_oracle_to_the_second(scenario, data):
    calendar, midnight = scenario
    t = midnight + data.draw(st.integers(-2 * DAY, 10 * DAY), label="start")
    most = min(calendar.schedule.weekly_seconds, DAY)
    seconds = data.draw(st.integers(0, most), label="business seconds")
    engine = BusinessTime(calendar)
    start = datetime.fromtimestamp(t, calendar.zone)
    assert int(engine.add_business_time(start, seconds).timestamp()) == Oracle(calendar).add(
        t, seconds
    )


@SETTINGS
@given(scenarios(), st.data())
def test_between_matches_the_oracle(scenario, data):
    calendar, midnight = scenario
    a = midnight + data.draw(st.integers(-2 * DAY, 10 * DAY), label="a")
    b = a + data.draw(st.integers(-3 * DAY, 8 * DAY), label="b - a")
    engine = BusinessTime(calendar)
    expected = Oracle(calendar).between(a, b)
    assert engine.between_epoch(a, b) == expected
    assert (
        engine.business_time_between(
            datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, calendar.zone)
        )
        == expected
    )


@SETTINGS
@given(scenarios(), st.data())
def test_is_open_and_next_opening_match_the_oracle(scenario, data):
    calendar, midnight = scenario
    t = midnight + data.draw(st.integers(-2 * DAY, 10 * DAY), label="instant")
    engine, oracle = BusinessTime(calendar), Oracle(calendar)
    assert engine.is_open_epoch(t) is oracle.is_open(t)
    assert engine.next_opening_epoch(t) == oracle.add(t, 0)


@settings(max_examples=500, deadline=None)
@given(scenarios(), st.data())
def test_inverse_laws(scenario, data):
    """a + between(a, b) is the first business instant at or after b.

    Literally so when b is inside working time; when b is closed, or is the very
    second a working interval opens after a closed stretch, the sum stops at the last
    closing time before b (a deadline that uses the day's last second is shown as
    17:00, not the next opening), which is the same instant in business time: the
    next opening after either is the same. (Hypothesis found the opening second: a day
    open 00:00-24:00 and b exactly at a later such midnight.) And between(a, a + s) == s.
    """
    calendar, midnight = scenario
    engine = BusinessTime(calendar)
    a = midnight + data.draw(st.integers(-2 * DAY, 10 * DAY), label="a")
    b = a + data.draw(st.integers(0, 20 * DAY), label="b - a")
    used = engine.between_epoch(a, b)
    reached = engine.add_epoch(a, used)
    assert engine.next_opening_epoch(reached) == engine.next_opening_epoch(b)
    assert reached <= b or used == 0
    if engine.is_open_epoch(b) and engine.is_open_epoch(b - 1):
        assert reached == b
    assert engine.between_epoch(a, reached) == used

    seconds = data.draw(st.integers(0, 5 * DAY), label="seconds")
    try:
        due = engine.add_epoch(a, seconds)
    except TargetUnreachableError:
        # A sparse calendar (a minute a week) cannot give that much within its
        # horizon: refused, and rightly so only if the horizon really holds less.
        assert engine.between_epoch(a, a + engine.horizon) < seconds
        return
    assert engine.between_epoch(a, due) == seconds
