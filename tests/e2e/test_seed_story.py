"""The seed's story, through the gateway's HTTP API only."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import jdatetime
import pytest

from tests.e2e.people import register, register_customer, verify
from tests.integration.gateway.client import (
    login,
    new_agent,
    new_department,
    new_phone,
    ok,
    open_ticket,
)
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n% a scanned receipt\n"
TEHRAN = ZoneInfo("Asia/Tehran")
DAY = 24 * 3600


def step(name: str) -> dict[str, str]:
    """A request id per step, to find each step again in the audit trail."""
    return {"X-Request-ID": f"story-{name}-{uuid.uuid4().hex[:8]}"}


def sla_targets(stack, ticket_id: str, until) -> dict[tuple[str, int], dict]:
    """sla's view of the ticket's targets by (target, cycle), once ``until`` holds of
    it (sla consumes ticket events asynchronously; an unknown ticket is an error)."""
    seen: dict = {}

    def ready() -> bool:
        try:
            answer = stack.sla("deadlines_for", ticket_id)
        except Exception:  # not known to sla yet
            return False
        seen.clear()
        seen.update({(t["target"], t["cycle"]): t for t in answer["targets"]})
        return until(seen)

    assert wait_until(ready, timeout=30), seen
    return seen


def instant(shown: dict) -> datetime:
    """sla shows an instant three ways (utc, local, jalali); the UTC one, parsed."""
    return datetime.fromisoformat(shown["utc"])


def assert_business_instant(stack, at: datetime) -> None:
    """``at`` lies inside a working interval of a working day of the default calendar
    (its end included: a deadline using the last working second is shown as 17:00)."""
    local = at.astimezone(TEHRAN)
    jalali = jdatetime.date.fromgregorian(date=local.date())
    month = stack.sla("month", "default", jalali.year, jalali.month)
    [day] = [d for d in month["days"] if d["gregorian"] == local.date().isoformat()]
    assert day["is_working_day"] and not day["holidays"], day
    clock = local.strftime("%H:%M:%S")
    intervals = [tuple(i.split("-")) for i in day["working_intervals"]]
    assert any(clock <= f"{end}:00" and clock > f"{start}:00" for start, end in intervals), (
        clock,
        intervals,
    )


def test_register_verify_open_claim_reply_reply_close_rate_and_the_audit_trail(
    stack, admin, published
):
    """register -> SMS code (from notify's console outbox) -> verify -> log in ->
    open a ticket with an attachment (SMS "ticket N received"; sla sets a first-response
    deadline 24 business hours on, on the default calendar) -> the agent claims (under
    review) -> replies (answered: first response met, SMS "ticket N answered" exactly
    once) -> the customer replies (unanswered, moved to the queue's end, a next-reply
    deadline in business hours) -> close (SMS with the rating link) -> rate; the audit
    trail shows every step with actor, role, time and the request id; every event
    reached RabbitMQ.
    """
    department = new_department(admin, "complaints")
    agent = new_agent(stack, admin, [department])

    # register -> SMS code -> verify -> log in
    phone = new_phone()  # she types it the local way; her SMS go to the E.164 form
    api, registered = register(stack, "مریم احمدی", "0" + phone[3:])
    assert registered["code_sent"] is True
    [code_sms] = stack.sms_to(phone)
    assert code_sms["template"] == "verification_code" and "کد تأیید" in code_sms["body"]
    verify(stack, api, phone)
    customer = login(stack, phone, api)
    assert customer.id == registered["user"]["id"]

    # open a ticket with an attachment
    response = customer.api.post(
        "/api/v1/tickets",
        data={"department": department, "subject": "قطع مکرر سرویس",
              "body": "سلام، از دیروز سرویس چند بار قطع شده است. رسید پیوست است."},
        files={"attachments": ("رسید.pdf", PDF, "application/pdf")},
        headers=step("open"),
    )  # fmt: skip
    ticket = ok(response, 201)
    ticket_id, path = ticket["ticket_id"], f"/api/v1/tickets/{ticket['ticket_id']}"
    assert ticket["status"] == "unanswered"
    [opened_sms] = stack.wait_for_sms(phone, "ticket_opened")
    assert ticket["number"] in opened_sms["body"]

    # sla: a first-response deadline 24 business hours after the opening (or after the
    # next opening, when she writes at night or on a holiday), at a business instant
    targets = sla_targets(stack, ticket_id, lambda t: ("first_response", 1) in t)
    first = targets[("first_response", 1)]
    assert (first["status"], first["target_seconds"]) == ("running", DAY)
    deadline = instant(first["deadline"])
    assert_business_instant(stack, deadline)
    counting_from = instant(first["counting_from"]).isoformat()
    between = stack.sla("business_time_between", counting_from, deadline.isoformat())
    assert between["business_seconds"] == DAY
    # 24 business hours are three working days: never a plain day later
    assert (deadline - instant(first["started_at"])).total_seconds() > 2 * DAY
    # Someone else writes in after her: she has waited longest, so she is first.
    later = open_ticket(register_customer(stack, "مشتری دیگر"), department)
    queue = ok(agent.api.get(f"/api/v1/departments/{department}/queue"))
    assert [t["ticket_id"] for t in queue["items"]] == [ticket_id, later["ticket_id"]]

    # the agent claims: under review
    claimed = ok(agent.api.post(f"{path}/claim", {}, headers=step("claim")))
    assert (claimed["status"], claimed["assignee_id"]) == ("under_review", agent.id)
    assert ok(customer.api.get(path))["status"] == "under_review"

    # the agent reads the attachment and replies: answered
    seen = ok(agent.api.get(path))
    [attachment] = seen["messages"][0]["attachments"]
    assert agent.api.get(f"/api/v1/attachments/{attachment['attachment_id']}").content == PDF
    reply = "سلام، مشکل از تجهیزات منطقه بود و برطرف شد. لطفاً بررسی کنید."
    answered = ok(agent.api.post(f"{path}/replies", {"body": reply}, headers=step("reply")), 201)
    assert answered["status"] == "answered"
    [answered_sms] = stack.wait_for_sms(phone, "ticket_answered")
    assert ticket["number"] in answered_sms["body"]
    targets = sla_targets(
        stack, ticket_id, lambda t: t[("first_response", 1)]["ended_at"] is not None
    )
    assert targets[("first_response", 1)]["breached_at"] is None

    # the customer reads the answer and replies: unanswered, and to the queue's end
    conversation = ok(customer.api.get(path))["messages"]
    assert [(m["kind"], m["author_role"]) for m in conversation] == [
        ("opening", "customer"),
        ("reply", "agent"),
    ]
    assert conversation[1]["body"] == reply
    again = ok(
        customer.api.post(f"{path}/replies", {"body": "ممنون، اما امروز هم قطع شد."},
                          headers=step("customer-reply")),
        201,
    )  # fmt: skip
    assert again["status"] == "unanswered"
    queue = ok(agent.api.get(f"/api/v1/departments/{department}/queue"))
    assert [t["ticket_id"] for t in queue["items"]] == [later["ticket_id"], ticket_id]
    targets = sla_targets(stack, ticket_id, lambda t: any(k[0] == "next_reply" for k in t))
    [next_reply] = [t for k, t in targets.items() if k[0] == "next_reply"]
    assert (next_reply["status"], next_reply["target_seconds"]) == ("running", DAY)
    assert_business_instant(stack, instant(next_reply["deadline"]))

    # close, then rate
    closed = ok(agent.api.post(f"{path}/close", {"reason": "برطرف شد"}, headers=step("close")))
    assert closed["status"] == "closed"
    rated = ok(customer.api.post(f"{path}/rating", {"score": 5, "comment": "سریع بود"},
                                 headers=step("rate")))  # fmt: skip
    assert rated["rating"] == 5
    [closed_sms] = stack.wait_for_sms(phone, "ticket_closed")
    assert ticket["number"] in closed_sms["body"]
    # Every SMS she got, each once: the customer's own reply told her nothing.
    assert [m["template"] for m in stack.sms_to(phone)] == [
        "verification_code", "ticket_opened", "ticket_answered", "ticket_closed",
    ]  # fmt: skip

    # the audit trail: every step, who did it, in what role, when, from which request
    trail = ok(agent.api.get(f"{path}/history"))
    steps = [(e["type"], e["actor_id"], e["actor_role"]) for e in trail]
    assert steps == [
        ("TicketOpened", customer.id, "customer"),
        ("AttachmentAdded", customer.id, "customer"),
        ("TicketClaimed", agent.id, "agent"),
        ("ReplyPosted", agent.id, "agent"),
        ("ReplyPosted", customer.id, "customer"),
        ("TicketClosed", agent.id, "agent"),
        ("SatisfactionRated", customer.id, "customer"),
    ]
    times = [datetime.fromisoformat(e["recorded_at"]) for e in trail]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert [e["correlation_id"].split("-")[1] for e in trail] == [
        "open", "open", "claim", "reply", "customer", "close", "rate",
    ]  # fmt: skip

    # and every event was published for the other services
    def all_published() -> bool:
        mine = [m["type"] for m in published() if m.get("ticket_id") == ticket_id]
        return mine == [s[0] for s in steps]

    assert wait_until(all_published, timeout=30)
