"""Exactly once for the person, against Kavenegar's API (the local server): a redelivered
event, a sender killed between the provider's acceptance and our record, a 5xx (with or
without the message having been taken) never make a second SMS; permanent refusals
are not retried; transient ones are, with backoff, until attempts run out.
"""

from __future__ import annotations

import pytest

from tests.integration.notify.conftest import (
    attempts,
    only_message,
    opened_ticket,
    reply_posted,
    settled,
    ticket_opened,
    ticket_sms,
)
from tests.support.processes import wait_until
from tests.support.sms_providers import FakeKavenegar

pytestmark = pytest.mark.integration

SEND = "/sms/send.json"


@pytest.fixture(scope="module")
def stack(stack_factory):
    with stack_factory(FakeKavenegar(templates=("pasokh-verify", "pasokh-verify-en"))) as running:
        yield running


def test_one_sms_per_agent_reply_despite_three_deliveries_and_a_kill_between_send_and_ack(
    stack,
):
    ticket, phone = opened_ticket(stack)
    release = stack.provider.hold(phone)  # Kavenegar takes the SMS but we never hear back
    reply = reply_posted(ticket["ticket_id"], "agent")
    event_id = stack.publish("tickets", "ReplyPosted", reply)
    assert wait_until(lambda: len(ticket_sms(stack, phone)) == 2, timeout=20)
    # The attempt was recorded before the call: the row says so while the call hangs.
    assert only_message(stack, ticket["ticket_id"], "ticket_answered")["state"] == "sending"

    stack.kill_notify()  # SIGKILL between the provider's acceptance and our record
    stack.publish("tickets", "ReplyPosted", reply, event_id)  # the relay publishes again
    stack.publish("tickets", "ReplyPosted", reply, event_id)  # and again
    release.set()
    stack.start_notify()

    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    answered = [m for m in ticket_sms(stack, phone) if "پاسخ داده شد" in m.text]
    assert len(answered) == 1
    assert row["provider_message_id"] == answered[0].provider_id
    assert stack.provider.send_requests_to(phone, SEND) == 2  # opened + this reply, no resend
    assert attempts(stack, row["message_id"]) == [(2, "lookup", "found", None)]
    processed = stack.sql(
        "SELECT count(*) AS n FROM notify.processed_events WHERE event_id = %s", (event_id,)
    )
    assert processed[0]["n"] == 1
    assert wait_until(
        lambda: (
            stack.metric("pasokh_consumer_duplicates_total", consumer="notify.on_reply_posted") == 2
        )
    )
    events = stack.sql(
        "SELECT event_type FROM notify.events WHERE stream_id = %s", (f"sms-{row['message_id']}",)
    )
    assert [e["event_type"] for e in events] == ["SmsSent"]


def test_a_5xx_then_success_sends_once(stack):
    ticket, phone = opened_ticket(stack)
    stack.provider.fail_next(1, status=500)
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert len(ticket_sms(stack, phone)) == 2
    assert row["attempts"] == 2
    assert attempts(stack, row["message_id"]) == [
        (1, "send", "unknown", "server_error"),
        (2, "lookup", "not_found", None),  # a 5xx may hide a sent message: look first
        (2, "send", "accepted", None),
    ]
    assert stack.metric("pasokh_notify_retries_total", template="ticket_answered") >= 1


def test_a_provider_that_sent_and_then_answered_5xx_is_not_asked_twice(stack):
    ticket, phone = opened_ticket(stack)
    stack.provider.fail_next(1, status=502, after_sending=True)
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert len(ticket_sms(stack, phone)) == 2
    assert stack.provider.send_requests_to(phone, SEND) == 2
    assert attempts(stack, row["message_id"]) == [
        (1, "send", "unknown", "server_error"),
        (2, "lookup", "found", None),
    ]


def test_an_invalid_number_is_recorded_and_not_retried(stack):
    customer, phone = stack.register("fa")
    stack.provider.invalid.add(phone)  # e.g. a number the operator has withdrawn
    ticket = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", ticket)
    row = settled(stack, ticket["ticket_id"], "ticket_opened", states=("failed",))
    assert (row["failure_reason"], row["attempts"]) == ("invalid_number", 1)
    assert stack.provider.send_requests_to(phone, SEND) == 1
    assert ticket_sms(stack, phone) == []
    [event] = stack.sql(
        "SELECT data FROM notify.events WHERE stream_id = %s", (f"sms-{row['message_id']}",)
    )
    assert event["data"]["reason"] == "invalid_number" and event["data"]["permanent"] is True
    with stack.rpc() as cluster:
        [view] = cluster.notify.messages_for_ticket(
            {"id": "sup", "role": "supervisor"}, ticket["ticket_id"]
        )
    assert (view["state"], view["failure_reason"]) == ("failed", "invalid_number")


def test_a_busy_provider_is_retried_until_it_takes_the_message(stack):
    ticket, phone = opened_ticket(stack)
    stack.provider.fail_next(2, status=409)  # "server cannot answer, try later"
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert [a[1:] for a in attempts(stack, row["message_id"])] == [
        ("send", "refused", "provider_busy"),
        ("send", "refused", "provider_busy"),
        ("send", "accepted", None),  # a refusal is certain: no lookup needed
    ]
    assert len(ticket_sms(stack, phone)) == 2


def test_when_attempts_run_out_the_message_fails_as_a_dead_letter(stack):
    ticket, phone = opened_ticket(stack)
    stack.provider.fail_next(4, status=418)  # no credit, for longer than we retry
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered", states=("failed",))
    assert (row["failure_reason"], row["attempts"]) == ("gave_up", 4)
    assert len(ticket_sms(stack, phone)) == 1
    assert stack.metric("pasokh_notify_dead_letters_total", reason="gave_up") >= 1


def test_an_undelivered_report_fails_a_sent_message(stack):
    ticket, _ = opened_ticket(stack)
    row = only_message(stack, ticket["ticket_id"], "ticket_opened")
    stack.provider.set_status(row["provider_message_id"], "undelivered")
    row = settled(stack, ticket["ticket_id"], "ticket_opened", states=("failed",))
    assert row["failure_reason"] == "undelivered" and row["sent_at"] is not None
    events = stack.sql(
        "SELECT event_type, version FROM notify.events WHERE stream_id = %s ORDER BY version",
        (f"sms-{row['message_id']}",),
    )
    assert [(e["event_type"], e["version"]) for e in events] == [("SmsSent", 1), ("SmsFailed", 2)]
