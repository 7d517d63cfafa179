"""Re-evaluating open clocks after a calendar change, in bulk and one by one."""

from __future__ import annotations

import random
from datetime import date

import pytest

from services.sla.calendar import (
    BusinessCalendar,
    BusinessTime,
    HolidayOverrides,
    OpenClock,
    TargetUnreachableError,
    WeeklySchedule,
    reevaluate,
)

from .support import HOUR, tehran

OLD = BusinessCalendar()
HEAT = OLD.with_overrides(HolidayOverrides.of(add=[date(2026, 7, 29)]))
NOW = int(tehran(2026, 7, 28, 11).timestamp())  # Tuesday 11:00


def epoch(dt) -> int:
    return int(dt.timestamp())


def test_a_closure_moves_the_deadline_from_the_time_already_used():
    # Started Monday 2026-07-27 09:00, 24 h target. By the change on Tuesday 11:00 it
    # used Monday 8 h + Tuesday 2 h = 10 h; 14 h remain. Old calendar: Tue 6 h, Wed 8 h
    # -> Wednesday 17:00. With Wednesday closed (Thu, Fri weekend): Tue 6 h, Sat 8 h ->
    # Saturday 2026-08-01 17:00.
    clock = OpenClock(epoch(tehran(2026, 7, 27, 9)), 0, 24 * HOUR)
    old, new = BusinessTime(OLD), BusinessTime(HEAT)
    assert reevaluate(old, old, NOW, [clock]) == [epoch(tehran(2026, 7, 29, 17))]
    assert reevaluate(old, new, NOW, [clock]) == [epoch(tehran(2026, 8, 1, 17))]


def test_paused_exceeded_and_out_of_order_clocks():
    old, new = BusinessTime(OLD), BusinessTime(HEAT)
    paused = OpenClock(None, 5 * HOUR, 24 * HOUR)
    exceeded = OpenClock(epoch(tehran(2026, 7, 20, 9)), 20 * HOUR, 24 * HOUR)
    future = OpenClock(NOW + 3600, 2 * HOUR, 8 * HOUR)  # started after the change: 0 used
    deadlines = reevaluate(old, new, NOW, [paused, exceeded, future])
    assert deadlines[0] is None
    assert deadlines[1] == NOW  # breached at the change, never back-dated
    assert deadlines[2] == new.add_epoch(NOW, 6 * HOUR)


def test_bulk_matches_one_clock_at_a_time():
    rng = random.Random(5)
    old, new = BusinessTime(OLD), BusinessTime(HEAT)
    clocks = [
        OpenClock(
            None if rng.random() < 0.1 else NOW - rng.randrange(0, 10 * 86400),
            rng.randrange(0, 30 * HOUR),
            rng.choice((8, 24, 72)) * HOUR,
        )
        for _ in range(3000)
    ]
    for clock, deadline in zip(clocks, reevaluate(old, new, NOW, clocks), strict=True):
        if clock.running_since is None:
            assert deadline is None
            continue
        used = clock.used + max(0, old.between_epoch(clock.running_since, NOW))
        remaining = clock.target - used
        assert deadline == (NOW if remaining <= 0 else new.add_epoch(NOW, remaining))


def test_a_change_that_makes_a_target_unreachable_is_reported_by_clock():
    tiny = BusinessCalendar(
        schedule=WeeklySchedule.from_mapping({"saturday": "09:00-10:00"}), horizon_days=30
    )
    clocks = [OpenClock(NOW, 0, HOUR), OpenClock(NOW, 0, 10 * HOUR)]
    with pytest.raises(TargetUnreachableError, match="clock 1"):
        reevaluate(BusinessTime(OLD), BusinessTime(tiny), NOW, clocks)


def test_no_clocks():
    assert reevaluate(BusinessTime(OLD), BusinessTime(HEAT), NOW, []) == []
