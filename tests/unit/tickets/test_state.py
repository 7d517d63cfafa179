"""A ticket rebuilt from its history: replay must give the same ticket every time."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.tickets.domain import (
    Priority,
    Role,
    Status,
    Ticket,
    TicketClaimed,
    TicketNotVisible,
    event_from_data,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    CUSTOMER,
    NOW,
    OTHER_DEPARTMENT,
    SUPERVISOR,
    attachment,
    later,
    open_events,
    opened,
    then,
)


def a_long_history() -> list:
    """Open, claim, answer, customer replies, transfer, escalate, close, rate."""
    ticket = Ticket()
    history = []

    def record(events):
        history.extend(events)
        then(ticket, events)

    record(open_events(attachments=[attachment(1)]))
    record(ticket.claim(AGENT, later(minutes=5)))
    record(ticket.post_reply(AGENT, "Refund issued.", [], later(minutes=10), "m-2"))
    record(ticket.post_reply(CUSTOMER, "Still charged.", [attachment(2)], later(hours=2), "m-3"))
    record(ticket.post_internal_note(AGENT, "Needs sales.", later(hours=3), "m-4"))
    record(ticket.transfer(AGENT, OTHER_DEPARTMENT, "Contract issue", later(hours=3)))
    record(ticket.change_priority(ADMIN, Priority.HIGH, later(hours=4)))
    record(ticket.post_reply(ADMIN, "Fixed for good.", [], later(hours=5), "m-5"))
    record(ticket.close(CUSTOMER, later(hours=6)))
    record(ticket.rate(CUSTOMER, 4, None, later(hours=7)))
    return history


def test_a_long_history_ends_in_the_expected_state():
    ticket = Ticket.from_events(a_long_history())

    assert ticket.version == 12
    assert ticket.department == OTHER_DEPARTMENT
    assert ticket.priority is Priority.HIGH
    assert ticket.status is Status.CLOSED
    assert ticket.assignee_id is None  # the transfer let go of the agent
    assert ticket.last_customer_message_at == later(hours=2)
    assert ticket.last_agent_reply_at == later(hours=5)
    assert ticket.closed_at == later(hours=6)
    assert ticket.closed_by_role is Role.CUSTOMER
    assert ticket.rating == 4
    assert ticket.opened_at == NOW


def test_replaying_stored_data_gives_the_same_ticket_as_the_live_one():
    history = a_long_history()
    stored = [(e.TYPE, e.to_data(), e.SCHEMA_VERSION) for e in history]

    replayed = Ticket.from_events(event_from_data(*row) for row in stored)

    assert vars(replayed) == vars(Ticket.from_events(history))


def test_each_applied_event_counts_one_version():
    history = a_long_history()
    for n in range(len(history) + 1):
        assert Ticket.from_events(history[:n]).version == n


def test_a_stream_without_events_is_a_ticket_that_does_not_exist():
    ticket = Ticket.from_events([])
    assert not ticket.exists
    assert ticket.version == 0
    with pytest.raises(TicketNotVisible):
        ticket.claim(AGENT, NOW)
    with pytest.raises(TicketNotVisible):
        ticket.post_reply(CUSTOMER, "hello", [], NOW, "m-1")


def test_a_history_must_start_with_the_opening():
    claim = TicketClaimed(ticket_id="t-1", agent_id=AGENT.id, department="billing", claimed_at=NOW)
    with pytest.raises(ValueError):
        Ticket.from_events([claim])


def test_a_ticket_is_opened_only_once():
    with pytest.raises(ValueError):
        Ticket.from_events([*open_events(), *open_events()])


def test_another_tickets_event_is_not_applied():
    ticket = opened()
    stray = TicketClaimed(ticket_id="t-2", agent_id=AGENT.id, department="billing", claimed_at=NOW)
    with pytest.raises(ValueError):
        ticket.apply(stray)
    assert ticket.version == 1


def test_a_naive_now_is_refused_by_every_decision():
    naive = datetime(2024, 5, 1, 10, 0)
    ticket = opened()
    with pytest.raises(ValueError):
        ticket.claim(SUPERVISOR, naive)
    with pytest.raises(ValueError):
        ticket.close(CUSTOMER, naive)
