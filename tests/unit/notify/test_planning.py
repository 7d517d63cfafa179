"""Which SMS each event calls for, and the values templates are filled with."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from services.notify.domain.idempotency import event_message_key
from services.notify.domain.planning import (
    TicketInfo,
    format_deadline,
    plan_closed,
    plan_reply,
    plan_sla,
    plan_ticket_opened,
    render_values,
)

TICKET = TicketInfo("t-1", "1234-5678", "cust-1", "billing")
TEHRAN = ZoneInfo("Asia/Tehran")


def test_opening_tells_the_customer_the_number():
    [plan] = plan_ticket_opened("e-1", TICKET)
    assert (plan.template, plan.user_id, plan.ticket_id) == ("ticket_opened", "cust-1", "t-1")
    assert plan.params == {"number": "1234-5678"}
    assert plan.key == event_message_key("e-1", "ticket_opened")


def test_only_staff_replies_are_answers():
    for role in ("agent", "supervisor", "admin"):
        [plan] = plan_reply("e-2", role, TICKET)
        assert plan.template == "ticket_answered" and plan.user_id == "cust-1"
    assert plan_reply("e-2", "customer", TICKET) == []
    assert plan_reply("e-2", "system", TICKET) == []


def test_closing_sends_the_rating_link():
    [plan] = plan_closed("e-3", TICKET)
    assert plan.template == "ticket_closed"


def test_sla_events_go_to_each_supervisor_once():
    plans = plan_sla(
        "e-4",
        "sla_breached",
        "t-1",
        "1234-5678",
        "billing",
        "first_response",
        "2026-03-21T06:30:00+00:00",
        ["sup-2", "sup-1", "sup-2"],
    )
    assert [p.user_id for p in plans] == ["sup-1", "sup-2"]
    assert len({p.key for p in plans}) == 2
    assert plans[0].params["department"] == "billing"
    assert plan_sla("e-4", "sla_warning", "t-1", "n", "d", "x", "y", []) == []


def test_values_for_persian_readers_use_the_solar_hijri_calendar():
    params = {
        "number": "1234-5678",
        "target": "first_response",
        "deadline": "2026-03-21T06:30:00+00:00",
    }
    fa = render_values(params, "fa", "https://help.example.ir/", TEHRAN)
    assert fa["deadline"] == "1405/01/01 10:00"  # Nowruz, 10:00 in Tehran
    assert fa["target"] == "اولین پاسخ"
    assert fa["ticket_url"] == "https://help.example.ir/tickets/1234-5678"
    assert fa["rating_url"] == "https://help.example.ir/tickets/1234-5678/rate"
    en = render_values(params, "en", "https://help.example.ir", TEHRAN)
    assert (en["deadline"], en["target"]) == ("2026-03-21 10:00", "first response")


def test_an_unreadable_deadline_is_shown_as_given():
    assert format_deadline("tomorrow", "fa", TEHRAN) == "tomorrow"
    assert format_deadline("2026-03-21T06:30:00", "en", TEHRAN) == "2026-03-21T06:30:00"
