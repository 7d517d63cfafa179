"""Quiet hours: non-urgent messages wait until the window ends (Tehran local time)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.domain.quiet_hours import InvalidQuietHours, QuietHours, allowed_at


def tehran(hour: int, minute: int = 0, day: int = 10) -> datetime:
    """A UTC instant at the given Tehran wall time (UTC+03:30) in March 2026."""
    local_minutes = hour * 60 + minute - 210
    day_shift, minutes = divmod(local_minutes, 24 * 60)
    return datetime(2026, 3, day + day_shift, minutes // 60, minutes % 60, tzinfo=UTC)


NIGHT = QuietHours.parse("22:00-07:30")


@pytest.mark.parametrize("text", ["", "  ", "off", "OFF"])
def test_empty_or_off_means_no_quiet_hours(text):
    assert QuietHours.parse(text) is None


@pytest.mark.parametrize("text", ["22-07", "25:00-07:00", "22:00-07:61", "08:00-08:00", "x"])
def test_malformed_windows_are_refused(text):
    with pytest.raises(InvalidQuietHours):
        QuietHours.parse(text)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(21, 59, False), (22, 0, True), (23, 30, True), (0, 0, True), (7, 29, True), (7, 30, False)],
)
def test_a_window_across_midnight(hour, minute, quiet):
    assert NIGHT.is_quiet(tehran(hour, minute)) is quiet


def test_late_evening_waits_until_the_next_morning():
    assert NIGHT.next_allowed(tehran(23, 10)) == tehran(7, 30, day=11)


def test_early_morning_waits_until_the_same_morning():
    assert NIGHT.next_allowed(tehran(3, 0)) == tehran(7, 30)


def test_outside_the_window_nothing_waits():
    assert NIGHT.next_allowed(tehran(12, 0)) == tehran(12, 0)


def test_a_window_within_one_day():
    lunch = QuietHours.parse("12:00-13:00")
    assert lunch.is_quiet(tehran(12, 30)) and not lunch.is_quiet(tehran(13, 0))
    assert lunch.next_allowed(tehran(12, 30)) == tehran(13, 0)


def test_urgent_messages_and_no_window_never_wait():
    night = tehran(2, 0)
    assert allowed_at(night, NIGHT, urgent=True) == night
    assert allowed_at(night, None, urgent=False) == night
    assert allowed_at(night, NIGHT, urgent=False) == tehran(7, 30)
