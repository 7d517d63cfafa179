"""The same guarantees through Twilio's Messages API (the local server). Twilio takes no
client-side id, so after an unknown outcome notify finds its message by listing the
messages to that number: a kill between send and acknowledgement still makes one SMS.
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
)
from tests.support.processes import wait_until
from tests.support.sms_providers import FakeTwilio

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(stack_factory):
    with stack_factory(FakeTwilio()) as running:
        yield running


def test_ticket_messages_and_codes_go_through_the_messages_api(stack):
    ticket, phone = opened_ticket(stack)
    code, opened = stack.provider.messages_to(phone)
    assert "کد تأیید" in code.text and opened.sender == "+15005550006"
    row = only_message(stack, ticket["ticket_id"], "ticket_opened")
    assert row["provider_message_id"] == opened.provider_id and opened.provider_id.startswith("SM")
    assert ticket["number"] in opened.text


def test_a_kill_between_send_and_ack_is_reconciled_by_listing_messages(stack):
    ticket, phone = opened_ticket(stack)
    release = stack.provider.hold(phone)
    reply = reply_posted(ticket["ticket_id"], "agent")
    event_id = stack.publish("tickets", "ReplyPosted", reply)
    assert wait_until(lambda: len(stack.provider.messages_to(phone)) == 3, timeout=20)
    stack.kill_notify()
    stack.publish("tickets", "ReplyPosted", reply, event_id)
    stack.publish("tickets", "ReplyPosted", reply, event_id)
    release.set()
    stack.start_notify()
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert len(stack.provider.messages_to(phone)) == 3  # code, opened, answered: once
    assert stack.provider.send_requests_to(phone) == 3
    assert attempts(stack, row["message_id"]) == [(2, "lookup", "found", None)]


def test_a_500_that_sent_nothing_is_looked_up_then_sent_once(stack):
    ticket, phone = opened_ticket(stack)
    stack.provider.fail_next(1, status=500)
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert [a[1:3] for a in attempts(stack, row["message_id"])] == [
        ("send", "unknown"),
        ("lookup", "not_found"),
        ("send", "accepted"),
    ]
    assert len(stack.provider.messages_to(phone)) == 3


def test_too_many_requests_is_retried_and_an_invalid_number_is_not(stack):
    ticket, _ = opened_ticket(stack)
    stack.provider.fail_next(1, status=429)
    stack.publish("tickets", "ReplyPosted", reply_posted(ticket["ticket_id"]))
    row = settled(stack, ticket["ticket_id"], "ticket_answered")
    assert [a[1:4] for a in attempts(stack, row["message_id"])] == [
        ("send", "refused", "rate_limited"),
        ("send", "accepted", None),
    ]

    customer, unreachable = stack.register("en")
    stack.provider.invalid.add(unreachable)
    other = ticket_opened(customer)
    stack.publish("tickets", "TicketOpened", other)
    failed = settled(stack, other["ticket_id"], "ticket_opened", states=("failed",))
    assert (failed["failure_reason"], failed["attempts"]) == ("invalid_number", 1)
    assert stack.provider.send_requests_to(unreachable) == 2  # its code, then this one
