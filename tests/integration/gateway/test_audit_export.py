"""The audit-trail export through HTTP: JSON and the printable page, for staff of the
ticket's department only, with each event's place in the hash chain."""

from __future__ import annotations

import re
from datetime import date

import jdatetime
import pytest

from tests.integration.gateway.client import (
    error_of,
    new_agent,
    new_department,
    ok,
    open_ticket,
    register_customer,
)
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

NOTE = "یادداشت داخلی: با واحد مالی هماهنگ شد"


@pytest.fixture
def handled_ticket(stack, admin):
    """A ticket with a claim, an internal note, a public reply and a priority change."""
    department = new_department(admin, "audit")
    agent = new_agent(stack, admin, [department])
    customer = register_customer(stack)
    ticket = open_ticket(customer, department, "قبض اشتباه آمده")
    path = f"/api/v1/tickets/{ticket['ticket_id']}"
    ok(agent.api.post(f"{path}/claim", {}))
    ok(agent.api.post(f"{path}/notes", {"body": NOTE}), 201)
    ok(agent.api.post(f"{path}/replies", {"body": "اصلاح شد <b>ممنون</b>"}), 201)
    ok(agent.api.post(f"{path}/priority", {"priority": "high"}))
    return {"path": path, "agent": agent, "customer": customer, "ticket": ticket}


def test_json_export_lists_every_event_with_times_actors_and_the_chain(stack, handled_ticket):
    agent, customer = handled_ticket["agent"], handled_ticket["customer"]
    url = f"{handled_ticket['path']}/audit-trail/export"
    # The relay process seals shortly after commit; wait for the whole ticket.
    assert wait_until(lambda: ok(agent.api.get(url))["chain"]["unsealed"] == 0, timeout=60)
    document = ok(agent.api.get(url, params={"format": "json"}))
    events = document["events"]
    assert [e["type"] for e in events] == [
        "TicketOpened", "TicketClaimed", "InternalNotePosted", "ReplyPosted", "PriorityChanged",
    ]  # fmt: skip
    assert [(e["actor_id"], e["actor_role"]) for e in events] == [(customer.id, "customer")] + [
        (agent.id, "agent")
    ] * 4
    assert NOTE in events[2]["description_fa"] and "Internal note" in events[2]["description_en"]
    assert "عادی" in events[4]["description_fa"] and "to high" in events[4]["description_en"]
    for event in events:
        at = event["recorded_at"]
        assert at["utc"].endswith("Z")
        jalali = jdatetime.date.fromgregorian(date=date.fromisoformat(at["tehran"][:10]))
        assert at["jalali_date"] == jalali.strftime("%Y/%m/%d")
        assert event["chain_status"] == "ok" and re.fullmatch("[0-9a-f]{64}", event["chain_hash"])
    seqs = [e["chain_seq"] for e in events]
    assert seqs == sorted(seqs)
    assert document["chain"]["intact"] and document["chain"]["sealed"] == 5
    number = handled_ticket["ticket"]["number"]
    assert document["ticket"]["number"] == number
    assert document["ticket"]["number_display"] == f"{number[:4]}-{number[4:]}"
    assert document["generated_by"] == {"actor_id": agent.id, "role": "agent"}


def test_html_export_is_a_printable_persian_page_with_every_event(stack, handled_ticket):
    agent = handled_ticket["agent"]
    response = agent.api.get(
        f"{handled_ticket['path']}/audit-trail/export", params={"format": "html"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.text
    assert '<html lang="fa" dir="rtl">' in page and "@media print" in page
    for event_type in ("TicketOpened", "TicketClaimed", "InternalNotePosted", "ReplyPosted"):
        assert f"<code>{event_type}</code>" in page
    assert page.count("<tr class=") == 5
    assert NOTE in page  # staff see internal notes
    assert "&lt;b&gt;ممنون&lt;/b&gt;" in page and "<b>ممنون" not in page  # escaped
    this_year = jdatetime.date.today().year
    assert re.search(rf"{this_year}/\d\d/\d\d \d\d:\d\d:\d\d", page)  # Jalali dates
    assert "سابقه ممیزی" in page and "Audit trail" in page
    assert not re.search(r"(src|href)=|<script|@import|url\(", page)  # self-contained


def test_only_staff_of_the_department_reach_the_export(stack, admin, handled_ticket):
    url = f"{handled_ticket['path']}/audit-trail/export"
    customer = handled_ticket["customer"]
    customer.api.language = "en"
    assert error_of(customer.api.get(url), 403)["code"] == "not_permitted"
    assert error_of(customer.api.get(url, params={"format": "html"}), 403)["code"] == (
        "not_permitted"
    )
    outsider = new_agent(stack, admin, [new_department(admin, "elsewhere")])
    assert error_of(outsider.api.get(url), 404)["code"] in ("not_found", "ticket_not_found")
    error = error_of(handled_ticket["agent"].api.get(url, params={"format": "pdf"}), 400)
    assert set(error["fields"]) == {"format"}
    assert ok(admin.api.get(url))["events"]  # admins see every department
