"""Ticket events become SMS to the right person, in their language, through Kavenegar's
API (the local server), with state and events recorded; SLA escalations reach the
department's supervisors as identity's events describe them.

identity and notify run as real processes; customers register through identity (whose
verification codes notify sends), and notify asks identity for their numbers.
"""

from __future__ import annotations

import json
import uuid

from pasokh_common.errors import ServiceError

import pytest
from kombu import Connection, Exchange, Queue

from tests.integration.notify.conftest import (
    PUBLIC_URL,
    reply_posted,
    ticket_closed,
    ticket_opened,
    ticket_sms,
)
from tests.support.processes import spawn, stop, wait_until
from tests.support.sms_providers import FakeKavenegar

pytestmark = pytest.mark.integration

STAFF = {"id": "agent-7", "role": "agent"}


@pytest.fixture(scope="module")
def stack(stack_factory):
    provider = FakeKavenegar(templates=("pasokh-verify", "pasokh-verify-en"))
    with stack_factory(provider) as running:
        yield running


def test_a_customer_is_told_the_ticket_number_in_persian(stack):
    customer, phone = stack.register("fa")
    ticket = ticket_opened(customer)
    event_id = stack.publish("tickets", "TicketOpened", ticket)
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 1, timeout=20)
    [sms] = ticket_sms(stack, phone)
    assert ticket["number"] in sms.text and "ثبت شد" in sms.text
    assert f"{PUBLIC_URL}/tickets/{ticket['number']}" in sms.text
    assert sms.sender == "10004346" and sms.client_id  # our localid went along

    [row] = stack.messages(ticket_id=ticket["ticket_id"])
    assert wait_until(
        lambda: stack.messages(ticket_id=ticket["ticket_id"])[0]["state"] in ("sent", "delivered")
    )
    row = stack.messages(ticket_id=ticket["ticket_id"])[0]
    assert (row["template"], row["user_id"], row["language"]) == ("ticket_opened", customer, "fa")
    assert (row["provider"], row["provider_message_id"]) == ("kavenegar", sms.provider_id)
    # 89 UCS-2 units: the Persian text, the number and the 41-character link.
    assert (row["encoding"], row["parts"], row["attempts"]) == ("ucs2", 2, 1)
    assert row["cause_event_id"] == event_id and row["recipient"] == phone

    [event] = stack.sql(
        "SELECT event_type, data, metadata FROM notify.events WHERE stream_id = %s",
        (f"sms-{row['message_id']}",),
    )
    assert event["event_type"] == "SmsSent"
    assert event["data"]["template"] == "ticket_opened" and event["data"]["parts"] == 2
    assert phone not in str(event) and sms.text not in str(event)
    assert event["metadata"]["causation_id"] == event_id
    assert event["metadata"]["correlation_id"] == f"corr-{event_id}"


def test_an_english_speaker_gets_english(stack):
    customer, phone = stack.register("en")
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 1, timeout=20)
    [sms] = ticket_sms(stack, phone)
    assert sms.text.startswith(f"Your ticket {ticket['number']} has been received.")
    [row] = stack.messages(ticket_id=ticket["ticket_id"])
    assert (row["language"], row["encoding"], row["parts"]) == ("en", "gsm7", 1)


def test_an_agent_reply_tells_the_customer_and_a_customer_reply_does_not(stack):
    customer, phone = stack.register("fa")
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"], "customer"))
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"], "agent"))
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 2, timeout=20)
    texts = [m.text for m in ticket_sms(stack, phone)]
    assert any("پاسخ داده شد" in t and ticket["number"] in t for t in texts)
    stack.publish("tickets", "TicketClosed", ticket_closed(ticket["ticket_id"]))
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 3, timeout=20)
    closing = ticket_sms(stack, phone)[-1].text
    assert f"{PUBLIC_URL}/tickets/{ticket['number']}/rate" in closing
    templates = [r["template"] for r in stack.messages(ticket_id=ticket["ticket_id"])]
    assert templates == ["ticket_opened", "ticket_answered", "ticket_closed"]


def test_a_reply_and_a_closing_that_arrive_before_their_ticket_are_held_then_sent(stack):
    """Queues are per event type, so an agent's reply (or the closing) often overtakes
    the TicketOpened: it is held, not failed and retried, and the TicketOpened's
    transaction sends it."""
    customer, phone = stack.register("fa")
    ticket = ticket_opened(customer)
    retries = stack.metric("pasokh_consumer_retries_total", consumer="notify.on_reply_posted")
    reply = stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"], "supervisor"))
    closing = stack.publish("tickets", "TicketClosed", ticket_closed(ticket["ticket_id"]))

    def held() -> set[str]:
        rows = stack.sql(
            "SELECT event_id::text AS id FROM notify.held_ticket_events WHERE ticket_id = %s",
            (ticket["ticket_id"],),
        )
        return {r["id"] for r in rows}

    assert wait_until(lambda: held() == {reply, closing}, timeout=20)
    assert ticket_sms(stack, phone) == []
    stack.publish("tickets", "TicketOpened", ticket)
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 3, timeout=20)
    assert sorted(r["template"] for r in stack.messages(ticket_id=ticket["ticket_id"])) == [
        "ticket_answered",
        "ticket_closed",
        "ticket_opened",
    ]
    assert held() == set()
    assert (
        stack.metric("pasokh_consumer_retries_total", consumer="notify.on_reply_posted") == retries
    )


def test_message_states_are_queryable_by_ticket_and_by_user(stack):
    customer, phone = stack.register("fa")
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 1, timeout=20)
    [sms] = ticket_sms(stack, phone)
    stack.provider.set_status(sms.provider_id, "delivered")  # the operator's report
    assert wait_until(
        lambda: stack.messages(ticket_id=ticket["ticket_id"])[0]["state"] == "delivered",
        timeout=20,
    )
    with stack.rpc() as cluster:
        [by_ticket] = cluster.notify.messages_for_ticket(STAFF, ticket["ticket_id"])
        mine = cluster.notify.messages_for_user({"id": customer, "role": "customer"}, customer)
        with pytest.raises(ServiceError) as refused:
            cluster.notify.messages_for_user({"id": "someone-else", "role": "customer"}, customer)
    assert by_ticket["state"] == "delivered" and by_ticket["delivered_at"]
    assert by_ticket["recipient"] == phone[:6] + "*****" + phone[-2:]
    assert {m["template"] for m in mine} == {"ticket_opened", "verification_code"}
    assert refused.value.code == "not_permitted" and refused.value.http_status == 403
    assert (
        stack.metric(
            "pasokh_notify_messages_total",
            template="ticket_opened",
            provider="kavenegar",
            outcome="delivered",
        )
        >= 1
    )


def test_sla_breaches_go_to_the_departments_supervisors_only(stack):
    department = f"dept-{uuid.uuid4().hex[:6]}"
    supervisor, supervisor_phone = stack.register("en")
    agent, agent_phone = stack.register("fa")
    gone, gone_phone = stack.register("fa")
    for user_id, role in ((supervisor, "supervisor"), (agent, "agent"), (gone, "supervisor")):
        stack.publish(
            "identity",
            "AgentAssignedToDepartment",
            {
                "user_id": user_id,
                "department_id": department,
                "role": role,
                "assigned_at": "2026-11-01T08:00:00+00:00",
            },
        )
    stack.publish(
        "identity",
        "AgentRemovedFromDepartment",
        {"user_id": gone, "department_id": department, "removed_at": "2026-11-02T08:00:00+00:00"},
    )
    assert wait_until(
        lambda: (
            len(
                stack.sql(
                    "SELECT 1 FROM notify.department_members"
                    " WHERE department_id = %s AND NOT active",
                    (department,),
                )
            )
            == 1
        )
    )
    customer, _ = stack.register("fa")
    ticket = ticket_opened(customer, department)
    stack.publish("tickets", "TicketOpened", ticket)
    breach = {
        "ticket_id": ticket["ticket_id"],
        "department": department,
        "target": "first_response",
        "deadline": "2026-11-21T14:30:00+00:00",
        "breached_at": "2026-11-21T14:30:00+00:00",
    }
    stack.publish("sla", "SlaBreached", breach)
    assert wait_until(lambda: ticket_sms(stack, supervisor_phone), timeout=20)
    [sms] = ticket_sms(stack, supervisor_phone)
    assert sms.text.startswith(f"SLA breached: first response of ticket {ticket['number']}")
    assert "2026-11-21 18:00" in sms.text  # Tehran time
    assert ticket_sms(stack, agent_phone) == [] and ticket_sms(stack, gone_phone) == []


def test_the_notify_relay_publishes_sms_events_to_notify_events(stack):
    with Connection(stack.amqp_uri) as conn:
        channel = conn.channel()
        queue = Queue(
            f"test-notify-events-{uuid.uuid4().hex[:6]}",
            Exchange("notify.events", type="topic", durable=True),
            routing_key="#",
            auto_delete=True,
        )
        queue(channel).declare()
        relay = spawn(
            ["-m", "pasokh_common.eventlog.relay_main", "--service", "notify"],
            stack.env,
            stack.logs / "relay.log",
        )
        try:
            customer, _ = stack.register("fa")
            ticket = ticket_opened(customer)
            stack.publish("tickets", "TicketOpened", ticket)
            seen: list = []

            def sent_event_seen() -> bool:
                message = queue(channel).get(no_ack=True)
                while message is not None:
                    seen.append((message.properties.get("type"), json.loads(message.body)))
                    message = queue(channel).get(no_ack=True)
                return any(
                    kind == "SmsSent" and body["ticket_id"] == ticket["ticket_id"]
                    for kind, body in seen
                )

            assert wait_until(sent_event_seen, timeout=30)
        finally:
            stop(relay)
    [(_, body)] = [(k, b) for k, b in seen if b.get("ticket_id") == ticket["ticket_id"]]
    assert set(body) == {
        "message_id",
        "template",
        "user_id",
        "ticket_id",
        "cause_event_id",
        "provider",
        "parts",
        "encoding",
        "attempts",
        "sent_at",
    }
