"""Bad configuration and impossible requests: each gets a named error, never a hang."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest

from services.sla.calendar import (
    BusinessCalendar,
    BusinessTime,
    HolidayFileError,
    HolidayOverrides,
    Interval,
    InvalidCalendarError,
    InvalidDurationError,
    InvalidHolidayError,
    InvalidIntervalError,
    InvalidScheduleError,
    InvertedIntervalError,
    NaiveDatetimeError,
    NoWorkingTimeError,
    OutOfRangeError,
    OverlappingIntervalsError,
    StaleTimeZoneDataError,
    TargetUnreachableError,
    UnknownTimeZoneError,
    WeeklySchedule,
    load_overrides,
)
from services.sla.calendar.zone import check_zone_data, load_zone

from .support import HOUR, TEHRAN, engine, tehran


@pytest.mark.parametrize(
    "intervals",
    [
        ["09:00-13:00", "12:00-17:00"],
        ["09:00-17:00", "10:00-11:00"],
        ["13:00-17:00", "09:00-13:30"],
    ],
)
def test_overlapping_intervals_are_refused(intervals):
    with pytest.raises(OverlappingIntervalsError, match="saturday"):
        WeeklySchedule.from_mapping({"saturday": intervals})


def test_inverted_and_empty_intervals_are_refused():
    with pytest.raises(InvertedIntervalError):
        Interval.parse("17:00-09:00")
    with pytest.raises(InvertedIntervalError):
        Interval.parse("09:00-09:00")


def test_an_interval_across_midnight_is_refused_with_the_way_to_write_it():
    with pytest.raises(InvertedIntervalError, match=r"22:00-24:00 .* 00:00-06:00"):
        WeeklySchedule.from_mapping({"wednesday": ["22:00-06:00"]})


@pytest.mark.parametrize(
    "text", ["9-17", "09:00", "09:60-10:00", "24:01-24:00", "25:00-26:00", "09:00-17:00-18:00", 9]
)
def test_malformed_intervals_are_refused(text):
    with pytest.raises(InvalidIntervalError):
        Interval.parse(text)


def test_out_of_day_bounds_are_refused():
    with pytest.raises(InvalidIntervalError):
        Interval(-60, 3600)
    with pytest.raises(InvalidIntervalError):
        Interval(0, 86401)


def test_touching_intervals_and_24_00_are_fine():
    schedule = WeeklySchedule.from_mapping({"Saturday": ["12:00-24:00", "00:00-12:00"]})
    assert schedule.to_mapping() == {"saturday": ["00:00-24:00"]}


def test_unknown_weekdays_are_refused():
    with pytest.raises(InvalidScheduleError, match="shanbe"):
        WeeklySchedule.from_mapping({"shanbe": ["09:00-17:00"]})


def test_a_calendar_without_working_time_is_refused():
    with pytest.raises(NoWorkingTimeError):
        WeeklySchedule.from_mapping({})
    with pytest.raises(NoWorkingTimeError):
        BusinessCalendar.from_config({"weekly_schedule": {"friday": []}})


@pytest.mark.parametrize("name", ["Asia/Tehrann", "Tehran", "", "../../etc/passwd", 3.5])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(UnknownTimeZoneError):
        BusinessCalendar(time_zone=name)


def test_zone_data_with_tehran_dst_after_2022_is_refused():
    # What pre-2022b data says for Tehran in summer 2023: +04:30 (DST).
    with pytest.raises(StaleTimeZoneDataError, match="2022b"):
        check_zone_data(timezone(timedelta(hours=4, minutes=30)))
    check_zone_data(TEHRAN)  # the installed data is recent
    assert load_zone("Asia/Tehran") is TEHRAN


def test_naive_datetimes_are_refused():
    default = engine()
    with pytest.raises(NaiveDatetimeError):
        default.add_business_time(datetime(2025, 5, 3, 10), HOUR)
    with pytest.raises(NaiveDatetimeError):
        default.business_time_between(tehran(2025, 5, 3), datetime(2025, 5, 4))
    with pytest.raises(NaiveDatetimeError):
        default.is_open("2025-05-03T10:00:00+03:30")


@pytest.mark.parametrize("seconds", [-1, 1.5, True, "3600", None])
def test_durations_are_whole_non_negative_seconds(seconds):
    with pytest.raises(InvalidDurationError):
        engine().add_business_time(tehran(2025, 5, 3, 10), seconds)


def test_a_target_beyond_the_horizon_raises_instead_of_searching_on():
    # Only Thursdays work, and an admin closed every Thursday for two years.
    thursdays = [date(2025, 1, 2) + timedelta(weeks=n) for n in range(105)]
    calendar = BusinessCalendar(
        schedule=WeeklySchedule.from_mapping({"thursday": "09:00-13:00"}),
        official_holidays=False,
        overrides=(HolidayOverrides.of(add=thursdays),),
    )
    stuck = BusinessTime(calendar)
    with pytest.raises(TargetUnreachableError, match="366-day horizon"):
        stuck.add_business_time(tehran(2025, 1, 1), HOUR)
    with pytest.raises(TargetUnreachableError):
        stuck.next_opening(tehran(2025, 1, 1))
    assert stuck.business_time_between(tehran(2025, 1, 1), tehran(2026, 12, 31)) == 0


def test_the_horizon_is_configurable():
    # 72 business hours from just before Nowruz 1405 need 20 days (see the golden tests).
    short = engine(horizon_days=14)
    with pytest.raises(TargetUnreachableError):
        short.add_business_time(tehran(2026, 3, 18, 16), 72 * HOUR)
    assert short.add_business_time(tehran(2026, 3, 18, 16), 24 * HOUR) == tehran(2026, 3, 29, 16)


@pytest.mark.parametrize("horizon", [0, -1, 5000, 1.5, True])
def test_bad_horizons_are_refused(horizon):
    with pytest.raises(InvalidCalendarError):
        BusinessCalendar(horizon_days=horizon)


def test_instants_outside_the_supported_years_are_refused():
    default = engine()
    with pytest.raises(OutOfRangeError):
        default.is_open(tehran(1975, 1, 1))
    with pytest.raises(OutOfRangeError):
        default.add_business_time(tehran(2150, 1, 1), HOUR)


def test_a_date_added_and_removed_in_one_layer_is_refused():
    with pytest.raises(InvalidHolidayError, match="both added and removed"):
        HolidayOverrides.of(add=[date(2026, 3, 25)], remove=[date(2026, 3, 25)])


def test_a_holiday_is_a_date_not_an_instant():
    with pytest.raises(InvalidHolidayError):
        HolidayOverrides.of(add=[datetime(2026, 3, 25, tzinfo=TEHRAN)])


def test_unknown_calendar_settings_are_refused():
    with pytest.raises(InvalidCalendarError, match="weekly_shedule"):
        BusinessCalendar.from_config({"weekly_shedule": {}})
    with pytest.raises(InvalidCalendarError):
        BusinessCalendar(esfand_30_holiday="yes")


def write(tmp_path, content) -> str:
    path = tmp_path / "overrides.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ({"years": {}}, "version"),
        ({"version": 1, "years": {"1405": {"add": ["1404-12-29"]}}}, "not in Jalali year 1405"),
        ({"version": 1, "years": {"1405": {"add": ["1405-13-01"]}}}, "no such date"),
        ({"version": 1, "years": {"1405": {"ad": []}}}, "unknown keys"),
        ({"version": 1, "years": {"1405": {"add": [{"date": "1405-05-08", "nam": "x"}]}}}, "nam"),
        ({"version": 1, "years": {"next": {}}}, "not a Jalali year"),
        (
            {"version": 1, "years": {"1405": {"add": ["1405-05-08"], "remove": ["1405-05-08"]}}},
            "both added and removed",
        ),
    ],
)
def test_a_bad_overrides_file_is_refused_with_its_path(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(HolidayFileError, match=message) as caught:
        load_overrides(path)
    assert path in str(caught.value)


def test_a_missing_overrides_file_is_refused(tmp_path):
    with pytest.raises(HolidayFileError, match="cannot read"):
        load_overrides(tmp_path / "nope.json")
