"""The holiday list: official Iranian days, the 30 Esfand setting, admin layers."""

from __future__ import annotations

import json
from datetime import date

from services.sla.calendar import (
    DEFAULT_OVERRIDES_PATH,
    BusinessCalendar,
    BusinessTime,
    Holiday,
    HolidayOverrides,
    WeeklySchedule,
    load_overrides,
)
from services.sla.calendar.dates import esfand_30, jalali_text, parse_date

from .support import HOUR, tehran


def names(calendar: BusinessCalendar, day: date) -> list[str]:
    return [holiday.name_en for holiday in calendar.holidays_on(day)]


def test_the_official_list_has_the_solar_and_the_lunar_holidays():
    calendar = BusinessCalendar()
    assert "Nowruz" in names(calendar, date(2026, 3, 21))  # 1 Farvardin 1405
    assert "Eid al-Fitr" in names(calendar, date(2026, 3, 21))  # 1 Shawwal 1447
    assert names(calendar, date(2026, 2, 11)) == ["Islamic Revolution Day"]  # 22 Bahman
    assert names(calendar, date(2025, 7, 6)) == ["Ashura"]
    fa = [h.name_fa for h in calendar.holidays_on(date(2026, 3, 21))]
    assert "جشن نوروز" in fa
    assert all(h.source == "official" for h in calendar.holidays_on(date(2026, 3, 21)))


def test_thursday_is_ours_to_schedule_not_a_package_weekend():
    # The package's Iranian weekend is Friday only; a Thursday half day works.
    calendar = BusinessCalendar(
        schedule=WeeklySchedule.from_mapping({"thursday": "09:00-13:00", "saturday": "09:00-17:00"})
    )
    assert calendar.holidays_on(date(2025, 5, 8)) == ()
    assert BusinessTime(calendar).is_open(tehran(2025, 5, 8, 10))


def test_30_esfand_exists_only_in_leap_years():
    assert esfand_30(1403) == date(2025, 3, 20)
    assert esfand_30(1404) is None
    assert esfand_30(1408) == date(2030, 3, 20)
    assert jalali_text(date(2030, 3, 20)) == "1408-12-30"


def test_30_esfand_follows_the_setting():
    observed, ignored = BusinessCalendar(), BusinessCalendar(esfand_30_holiday=False)
    for day in (date(2025, 3, 20), date(2030, 3, 20)):
        assert observed.holidays_on(day)
        assert ignored.holidays_on(day) == ()
    # The day before (29 Esfand, oil nationalisation day) is not touched.
    assert ignored.holidays_on(date(2030, 3, 19))


def test_removing_an_official_holiday_makes_it_a_working_day():
    # 12 Farvardin 1405 (Wednesday 2026-04-01), Islamic Republic Day.
    calendar = BusinessCalendar(overrides=(HolidayOverrides.of(remove=[date(2026, 4, 1)]),))
    assert calendar.holidays_on(date(2026, 4, 1)) == ()
    assert BusinessTime(calendar).is_open(tehran(2026, 4, 1, 10))


def test_a_later_layer_wins():
    day = date(2026, 7, 29)
    closure = HolidayOverrides.of(add=[Holiday(day, "تعطیلی گرما", "Heat closure")])
    reopened = HolidayOverrides.of(remove=[day])
    assert [h.name_en for h in BusinessCalendar(overrides=(closure,)).holidays_on(day)] == [
        "Heat closure"
    ]
    assert BusinessCalendar(overrides=(closure, reopened)).holidays_on(day) == ()
    assert BusinessCalendar(overrides=(reopened, closure)).holidays_on(day)


def test_an_added_day_keeps_the_official_names_beside_its_own():
    day = date(2026, 3, 21)
    calendar = BusinessCalendar(overrides=(HolidayOverrides.of(add=[day]),))
    assert names(calendar, day)[-1] == "Announced closure"
    assert "Nowruz" in names(calendar, day)


def test_without_official_holidays_only_admin_days_are_closed():
    calendar = BusinessCalendar(official_holidays=False)
    assert calendar.holidays_on(date(2026, 3, 24)) == ()  # 4 Farvardin
    assert BusinessTime(calendar).is_open(tehran(2026, 3, 24, 10))


def test_a_holiday_change_moves_deadlines():
    start = tehran(2026, 7, 27, 16)  # Monday
    base = BusinessTime(BusinessCalendar())
    closed = BusinessTime(
        BusinessCalendar().with_overrides(HolidayOverrides.of(add=[date(2026, 7, 28)]))
    )
    assert base.add_business_time(start, 2 * HOUR) == tehran(2026, 7, 28, 10)
    assert closed.add_business_time(start, 2 * HOUR) == tehran(2026, 7, 29, 10)


def test_dates_are_read_as_jalali_or_gregorian_by_their_year():
    assert parse_date("1405-01-05") == date(2026, 3, 25)
    assert parse_date("2026-03-25") == date(2026, 3, 25)


def test_the_shipped_overrides_file_loads():
    assert isinstance(load_overrides(DEFAULT_OVERRIDES_PATH), HolidayOverrides)


def test_an_overrides_file_adds_and_removes_tehran_dates(tmp_path):
    path = tmp_path / "overrides.json"
    document = {
        "version": 1,
        "years": {
            "1405": {
                "add": [
                    {"date": "1405-05-07", "name_fa": "تعطیلی گرما", "name_en": "Heat closure"},
                    "2026-07-30",
                ],
                "remove": ["1405-01-12"],
            }
        },
    }
    path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
    layer = load_overrides(path)
    calendar = BusinessCalendar(overrides=(layer,))
    assert names(calendar, date(2026, 7, 29)) == ["Heat closure"]
    assert names(calendar, date(2026, 7, 30)) == ["Announced closure"]
    assert calendar.holidays_on(date(2026, 4, 1)) == ()


def test_a_calendar_from_plain_config():
    calendar = BusinessCalendar.from_config(
        {
            "time_zone": "Asia/Tehran",
            "weekly_schedule": {"saturday": ["08:00-12:00", "13:00-16:00"]},
            "esfand_30_holiday": False,
            "holidays": {"add": [{"date": "1405-05-07", "name": "گرما"}], "remove": []},
            "horizon_days": 400,
        }
    )
    assert calendar.schedule.to_mapping() == {"saturday": ["08:00-12:00", "13:00-16:00"]}
    assert [h.name_fa for h in calendar.holidays_on(date(2026, 7, 29))] == ["گرما"]
    assert calendar.horizon_days == 400
    assert calendar == BusinessCalendar.from_config(
        {
            "weekly_schedule": {"saturday": ["08:00-12:00", "13:00-16:00"]},
            "esfand_30_holiday": False,
            "holidays": {"add": [{"date": "2026-07-29", "name": "گرما"}]},
            "horizon_days": 400,
        }
    )
