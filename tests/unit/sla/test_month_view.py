"""The month calendar the UI shows: Jalali and Gregorian dates, hours, holidays."""

from __future__ import annotations

import json

from services.sla.calendar import BusinessCalendar, month_view


def test_farvardin_1405():
    view = month_view(BusinessCalendar(), 1405, 1)
    assert (view.month_name_fa, view.month_name_en) == ("فروردین", "Farvardin")
    assert len(view.days) == 31
    first = view.days[0]
    assert (first.jalali, first.gregorian) == ("1405-01-01", "2026-03-21")
    assert (first.weekday_fa, first.weekday_en) == ("شنبه", "Saturday")
    assert {"Nowruz", "Eid al-Fitr"} <= {h.name_en for h in first.holidays}
    assert first.working_intervals == () and not first.is_working_day
    closed = [day.jalali[-2:] for day in view.days if not day.is_working_day]
    # Nowruz 1-4, Thursdays and Fridays, 12 (Islamic Republic Day), 13 (Nature's Day),
    # 25 (martyrdom of Imam Ja'far al-Sadiq, a Tuesday).
    assert closed == [
        "01", "02", "03", "04", "06", "07", "12", "13", "14", "20", "21", "25", "27", "28",
    ]  # fmt: skip
    fifth = view.days[4]
    assert (fifth.gregorian, fifth.weekday_en) == ("2026-03-25", "Wednesday")
    assert fifth.working_intervals == ("09:00-17:00",)
    assert fifth.working_seconds == 8 * 3600
    thursday = view.days[5]
    assert thursday.holidays == () and thursday.working_intervals == ()


def test_esfand_has_30_days_in_a_leap_year_and_its_last_follows_the_setting():
    assert len(month_view(BusinessCalendar(), 1404, 12).days) == 29
    observed = month_view(BusinessCalendar(), 1408, 12)
    assert len(observed.days) == 30
    assert observed.days[-1].gregorian == "2030-03-20" and observed.days[-1].holidays
    ignored = month_view(BusinessCalendar(esfand_30_holiday=False), 1408, 12)
    assert ignored.days[-1].holidays == ()
    assert ignored.days[-1].working_intervals == ("09:00-17:00",)


def test_a_month_view_serialises_to_json():
    data = json.loads(json.dumps(month_view(BusinessCalendar(), 1405, 5).to_dict()))
    assert data["days"][0]["jalali"] == "1405-05-01"
    assert data["time_zone"] == "Asia/Tehran"
