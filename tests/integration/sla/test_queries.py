"""The read side over the application: a ticket's deadlines with elapsed business time,
business time between instants, the next opening, a Jalali month for the UI."""

from __future__ import annotations

from pasokh_common.errors import PasokhError

import pytest

from tests.integration.sla.support import HOUR, TicketStream, iso, tehran

pytestmark = pytest.mark.integration

OPENED = tehran(2026, 3, 18, 16)


def test_deadlines_for_shows_elapsed_business_time(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(tehran(2026, 3, 17, 20)))  # Tuesday night
    sla_app.clock.set(tehran(2026, 3, 18, 11, 30))
    answer = sla_app.app.queries.deadlines_for(stream.ticket_id)
    assert answer["phase"] == "awaiting_us" and answer["calendar_id"] == "default"
    first = answer["targets"][0]
    assert first["target"] == "first_response" and first["status"] == "running"
    # Opened at night: counted from Wednesday 09:00; 2.5 h by 11:30.
    assert first["counting_from"]["local"] == "2026-03-18T09:00:00+03:30"
    assert first["elapsed_business_seconds"] == int(2.5 * HOUR)
    assert first["remaining_business_seconds"] == int(21.5 * HOUR)
    # 8 h on Wednesday, Nowruz, then 8 h Wed 25, 8 h Sat 28: due Saturday 17:00.
    assert first["deadline"]["utc"] == iso(tehran(2026, 3, 28, 17))
    assert first["deadline"]["jalali"] == "1405-01-08 17:00"
    with pytest.raises(PasokhError) as missing:
        sla_app.app.queries.deadlines_for("no-such-ticket")
    assert missing.value.code == "ticket_not_found"


def test_paused_resolution_keeps_its_used_time(sla_app):
    stream = TicketStream()
    sla_app.receive(stream.opened(OPENED))
    sla_app.receive(stream.reply(OPENED + 1800))  # agent answers after 30 min
    sla_app.clock.set(tehran(2026, 3, 25, 12))
    answer = sla_app.app.queries.deadlines_for(stream.ticket_id)
    targets = {t["target"]: t for t in answer["targets"]}
    assert targets["first_response"]["status"] == "met"
    assert targets["first_response"]["elapsed_business_seconds"] == 1800
    assert targets["resolution"]["status"] == "paused"
    assert targets["resolution"]["deadline"] is None
    assert targets["resolution"]["elapsed_business_seconds"] == 1800


def test_business_time_between_and_next_opening(sla_app):
    queries = sla_app.app.queries
    between = queries.business_time_between(
        "2026-03-18T16:00:00+03:30", "2026-03-29T16:00:00+03:30", "default"
    )
    assert between["business_seconds"] == 24 * HOUR
    backwards = queries.business_time_between(
        "2026-03-29T12:30:00Z", "2026-03-18T12:30:00Z", "default"
    )
    assert backwards["business_seconds"] == -24 * HOUR

    night = queries.next_opening("2026-03-18T20:00:00+03:30", "default")
    assert night["is_open"] is False
    # Thursday, Friday, then Nowruz: the next opening is Wednesday 5 Farvardin.
    assert night["next_opening"]["local"] == "2026-03-25T09:00:00+03:30"
    assert night["next_opening"]["jalali"] == "1405-01-05 09:00"
    open_now = queries.next_opening("2026-03-18T10:00:00+03:30", "default")
    assert open_now["is_open"] is True

    with pytest.raises(PasokhError) as naive:
        queries.next_opening("2026-03-18T10:00:00", "default")
    assert naive.value.code == "validation_failed"
    with pytest.raises(PasokhError) as unknown:
        queries.next_opening("2026-03-18T10:00:00Z", "nowhere")
    assert unknown.value.code == "calendar_not_found"


def test_month_of_farvardin_1405(sla_app):
    month = sla_app.app.queries.month("default", 1405, 1)
    assert month["month_name_en"] == "Farvardin" and len(month["days"]) == 31
    first = month["days"][0]
    assert first["jalali"] == "1405-01-01" and first["gregorian"] == "2026-03-21"
    assert first["holidays"] and first["is_working_day"] is False
    fifth = month["days"][4]
    assert fifth["working_intervals"] == ["09:00-17:00"] and fifth["is_working_day"] is True
    with pytest.raises(PasokhError):
        sla_app.app.queries.month("default", 1405, 13)
