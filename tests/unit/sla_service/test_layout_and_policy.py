"""One clock's arithmetic and the policy's numbers: settling, laying out, when to warn,
and when supervisors may be told."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.sla.calendar import BusinessCalendar, TargetUnreachableError, business_time
from services.sla.domain.layout import (
    elapsed,
    end,
    in_hours,
    lay_out,
    notify_at,
    pause,
    resume,
    settle,
)
from services.sla.domain.policy import DEFAULT_POLICY, Policy
from services.sla.domain.targets import Clock, ClockStatus, Target

from .support import DEFAULT, DUE_24H, HOUR, OPENED, tehran

ENGINE = DEFAULT.engine


def running(target_seconds: int = 24 * HOUR, since: int = OPENED, used: int = 0) -> Clock:
    clock = Clock(Target.FIRST_RESPONSE, 1, target_seconds, since, used=used, running_since=since)
    return lay_out(clock, ENGINE, DEFAULT_POLICY)


def test_settle_folds_the_segment_and_never_goes_negative():
    clock = running()
    later = settle(clock, ENGINE, tehran(2026, 3, 25, 10))
    assert later.used == 2 * HOUR and later.running_since == tehran(2026, 3, 25, 10)
    assert settle(clock, ENGINE, OPENED - HOUR) == clock
    assert elapsed(clock, ENGINE, OPENED - HOUR) == 0


def test_lay_out_is_the_same_deadline_from_any_settled_point():
    clock = running()
    moved = lay_out(settle(clock, ENGINE, tehran(2026, 3, 28, 12)), ENGINE, DEFAULT_POLICY)
    assert moved.deadline == clock.deadline == DUE_24H
    assert moved.warn_at == clock.warn_at


def test_an_exceeded_target_is_due_at_the_segment_start_unless_already_breached():
    exceeded = running(target_seconds=HOUR, since=tehran(2026, 3, 25, 12), used=2 * HOUR)
    assert exceeded.deadline == tehran(2026, 3, 25, 12)
    breached = replace(exceeded, breached_at=tehran(2026, 3, 18, 16, 30))
    assert lay_out(breached, ENGINE, DEFAULT_POLICY).deadline == tehran(2026, 3, 18, 16, 30)


def test_unreachable_deadlines_are_unset_unless_strict():
    short = business_time(BusinessCalendar(horizon_days=2))
    clock = Clock(Target.RESOLUTION, 1, 120 * HOUR, OPENED, running_since=OPENED)
    assert lay_out(clock, short, DEFAULT_POLICY).deadline is None
    with pytest.raises(TargetUnreachableError):
        lay_out(clock, short, DEFAULT_POLICY, strict=True)


def test_pause_resume_and_end():
    clock = running()
    paused = pause(clock, ENGINE, OPENED + 1800)
    assert (paused.status, paused.used, paused.deadline, paused.due_at()) == (
        ClockStatus.PAUSED,
        1800,
        None,
        None,
    )
    resumed = resume(paused, ENGINE, DEFAULT_POLICY, tehran(2026, 3, 25, 9))
    assert resumed.is_running and resumed.deadline == tehran(2026, 3, 29, 16, 30)
    ended = end(resumed, ENGINE, tehran(2026, 3, 25, 10), ClockStatus.MET)
    assert (ended.status, ended.used, ended.ended_at) == (
        ClockStatus.MET,
        1800 + HOUR,
        tehran(2026, 3, 25, 10),
    )
    late = end(replace(resumed, breached_at=DUE_24H), ENGINE, DUE_24H + 60, ClockStatus.MET)
    assert late.status == ClockStatus.BREACHED


def test_due_at_prefers_the_warning_until_it_is_sent():
    clock = running()
    assert clock.due_at() == clock.warn_at
    assert replace(clock, warned_at=clock.warn_at).due_at() == DUE_24H
    assert replace(clock, breached_at=DUE_24H).due_at() is None


@pytest.mark.parametrize(
    ("occurred", "told"),
    [
        (tehran(2026, 3, 18, 10), tehran(2026, 3, 18, 10)),  # in hours
        (tehran(2026, 3, 18, 17), tehran(2026, 3, 18, 17)),  # the closing instant itself
        (tehran(2026, 3, 18, 17, 0, 1), tehran(2026, 3, 25, 9)),  # after it: Nowruz
        (tehran(2026, 3, 21, 12), tehran(2026, 3, 25, 9)),  # on a holiday
        (tehran(2026, 3, 25, 3), tehran(2026, 3, 25, 9)),  # at night
    ],
)
def test_notify_at_holds_what_happens_outside_hours(occurred, told):
    assert notify_at(ENGINE, occurred, outside_hours=False) == told
    assert notify_at(ENGINE, occurred, outside_hours=True) == occurred


def test_in_hours_counts_the_closing_instant():
    assert in_hours(ENGINE, tehran(2026, 3, 18, 17))
    assert not in_hours(ENGINE, tehran(2026, 3, 18, 17, 0, 1))
    assert in_hours(ENGINE, tehran(2026, 3, 18, 9)) is not False  # 09:00 is open


def test_policy_targets_and_warning_point():
    assert DEFAULT_POLICY.seconds_for(Target.FIRST_RESPONSE, False) == 24 * HOUR
    assert DEFAULT_POLICY.seconds_for(Target.FIRST_RESPONSE, True) == 72 * HOUR
    assert DEFAULT_POLICY.seconds_for(Target.NEXT_REPLY, True) == 24 * HOUR
    assert DEFAULT_POLICY.seconds_for(Target.RESOLUTION, False) == 120 * HOUR
    assert DEFAULT_POLICY.warning_point(24 * HOUR) == int(19.2 * HOUR)
    assert Policy(warning_share=0.5).warning_point(1) is None  # no warning at or after breach


@pytest.mark.parametrize(
    "settings",
    [
        {"first_response": 0},
        {"resolution": -5},
        {"next_reply": 1.5},
        {"warning_share": 1.0},
        {"warning_share": 0},
    ],
)
def test_policies_refuse_impossible_numbers(settings):
    with pytest.raises(ValueError):
        Policy(**settings)
