"""The seed's story, through the gateway's HTTP API only."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from kombu import Connection, Exchange, Queue

from tests.integration.gateway.client import (
    Api,
    login,
    new_agent,
    new_department,
    new_phone,
    ok,
    open_ticket,
    register_customer,
)
from tests.integration.gateway.stack import PASSWORD
from tests.support.notify_double import latest_code
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e
PDF = b"%PDF-1.4\n% a scanned receipt\n"


def step(name: str) -> dict[str, str]:
    """A request id per step, to find each step again in the audit trail."""
    return {"X-Request-ID": f"story-{name}-{uuid.uuid4().hex[:8]}"}


@pytest.fixture
def published(stack):
    """Every message the relay publishes on ``tickets.events`` (as another internal
    system would receive them, by binding its own queue)."""
    queue = Queue(
        f"e2e-observer-{uuid.uuid4().hex[:6]}",
        Exchange("tickets.events", type="topic", durable=True),
        routing_key="#",
        auto_delete=True,
    )
    with Connection(stack.amqp_uri) as conn:
        queue(conn.channel()).declare()
        received: list[dict] = []

        def drain() -> list[dict]:
            while (message := queue(conn.default_channel).get(no_ack=True)) is not None:
                received.append(
                    {"type": message.delivery_info["routing_key"], **json.loads(message.body)}
                )
            return received

        yield drain


def test_register_verify_open_claim_reply_reply_close_rate_and_the_audit_trail(
    stack, admin, published
):
    """register -> SMS code (from the notify double's outbox) -> verify -> log in ->
    open a ticket with an attachment -> the agent claims (under review) -> replies
    (answered) -> the customer replies (unanswered, moved to the queue's end) ->
    close -> rate; the audit trail shows every step with actor, role, time and the
    request id; every event reached RabbitMQ.

    Awaits notify: "SMS to the customer when the agent replies" (notify consumes
    ReplyPosted; the double only takes verification codes). Awaits sla: "SLA
    deadlines were set in business hours" (queue order by SLA deadline too).
    """
    department = new_department(admin, "complaints")
    agent = new_agent(stack, admin, [department])

    # register -> SMS code -> verify -> log in
    api = Api(stack.base_url)
    phone = new_phone()
    registered = ok(
        api.post(
            "/api/v1/auth/register",
            {"name": "مریم احمدی", "phone": "0" + phone[3:], "password": PASSWORD},
        ),
        201,
    )
    assert registered["code_sent"] is True
    code = latest_code(stack.outbox, phone)
    ok(api.post("/api/v1/auth/verify-phone", {"phone": phone, "code": code}))
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

    # close, then rate
    closed = ok(agent.api.post(f"{path}/close", {"reason": "برطرف شد"}, headers=step("close")))
    assert closed["status"] == "closed"
    rated = ok(customer.api.post(f"{path}/rating", {"score": 5, "comment": "سریع بود"},
                                 headers=step("rate")))  # fmt: skip
    assert rated["rating"] == 5

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
