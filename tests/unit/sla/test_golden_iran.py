"""Hand-checked deadlines on the real Iranian calendar (default schedule: Saturday to
Wednesday 09:00-17:00; Thursday and Friday closed; official holidays from the
``holidays`` package, as listed in each comment)."""

from __future__ import annotations

from services.sla.calendar import BusinessCalendar, BusinessTime, business_time

from .support import HOUR, tehran


def test_24_business_hours_from_wednesday_16_00_before_nowruz_1405():
    # Opened Wednesday 27 Esfand 1404 = 2026-03-18, 16:00 Tehran.
    #   Wed 18 Mar 16:00-17:00                          1 h  (1)
    #   Thu 19 (weekend), Fri 20 (weekend; 29 Esfand, oil nationalisation day)
    #   Sat 21 - Tue 24: 1-4 Farvardin 1405, Nowruz (21-22 also Eid al-Fitr 1447)
    #   Wed 25 (5 Farvardin) 09:00-17:00               8 h  (9)
    #   Thu 26, Fri 27 (weekend)
    #   Sat 28 (8 Farvardin)                           8 h  (17)
    #   Sun 29 (9 Farvardin) 09:00-16:00               7 h  (24)
    # Due Sunday 2026-03-29 16:00 Tehran (9 Farvardin 1405).
    calendar = BusinessCalendar()
    due = business_time(calendar).add_business_time(tehran(2026, 3, 18, 16), 24 * HOUR)
    assert due == tehran(2026, 3, 29, 16)
    assert due.utcoffset().total_seconds() == 3.5 * HOUR


def test_72_business_hours_from_the_same_ticket():
    # Continuing from 24 h used by Sun 29 Mar 16:00:
    #   Sun 29 16:00-17:00 (25), Mon 30 (33), Tue 31 (41),
    #   Wed 1 Apr: 12 Farvardin, Islamic Republic Day; Thu 2: 13 Farvardin, Nature's Day
    #   Sat 4 (49), Sun 5 (57), Mon 6 (65), Tue 7 Apr 09:00-16:00 (72).
    # Due Tuesday 2026-04-07 16:00 Tehran (18 Farvardin 1405).
    due = BusinessTime(BusinessCalendar()).add_business_time(tehran(2026, 3, 18, 16), 72 * HOUR)
    assert due == tehran(2026, 4, 7, 16)


def test_24_business_hours_across_nowruz_1404_with_30_esfand():
    # Opened Tuesday 2025-03-18 16:00 (28 Esfand 1403, a leap year).
    #   Tue 18 16:00-17:00 (1); Wed 19: 29 Esfand, oil nationalisation day;
    #   Thu 20: 30 Esfand (leap year) and weekend; Fri 21 - Mon 24: Nowruz 1404 (Sat 22
    #   also Imam Ali's martyrdom); Tue 25 (9); Wed 26 (17); Thu 27, Fri 28 weekend;
    #   Sat 29 Mar 09:00-16:00 (24).
    due = BusinessTime(BusinessCalendar()).add_business_time(tehran(2025, 3, 18, 16), 24 * HOUR)
    assert due == tehran(2025, 3, 29, 16)


def test_30_esfand_1408_is_a_setting():
    # 1408 is the next leap year: 30 Esfand 1408 = Wednesday 2030-03-20.
    # Opened Monday 2030-03-18 16:00 with 8 business hours to go:
    #   Mon 16:00-17:00 (1); Tue 19: 29 Esfand, oil nationalisation day.
    #   Observed (Labour Law): Wed 20 closed, Thu 21 - Sun 24 Nowruz 1409 (and Thu, Fri
    #   weekend), so Mon 25 Mar 09:00-16:00 (8).
    #   Not observed: Wed 20 09:00-16:00 (8).
    start = tehran(2030, 3, 18, 16)
    observed = BusinessTime(BusinessCalendar(esfand_30_holiday=True))
    ignored = BusinessTime(BusinessCalendar(esfand_30_holiday=False))
    assert observed.add_business_time(start, 8 * HOUR) == tehran(2030, 3, 25, 16)
    assert ignored.add_business_time(start, 8 * HOUR) == tehran(2030, 3, 20, 16)


def test_business_time_used_over_the_nowruz_break():
    # From Wed 2026-03-18 10:00 to Sat 2026-03-28 10:00:
    #   Wed 18: 7 h; Nowruz and weekends: 0; Wed 25: 8 h; Sat 28 09:00-10:00: 1 h.
    engine = BusinessTime(BusinessCalendar())
    assert engine.business_time_between(tehran(2026, 3, 18, 10), tehran(2026, 3, 28, 10)) == (
        16 * HOUR
    )


def test_the_first_opening_after_nowruz_1405():
    engine = BusinessTime(BusinessCalendar())
    assert engine.next_opening(tehran(2026, 3, 18, 17)) == tehran(2026, 3, 25, 9)
    assert not engine.is_open(tehran(2026, 3, 22, 10))
