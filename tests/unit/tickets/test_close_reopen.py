from __future__ import annotations

from datetime import timedelta

import pytest

from services.tickets.domain import (
    InvalidTicketData,
    NotInDepartment,
    ReopenWindowExpired,
    Role,
    Status,
    TicketClosed,
    TicketIsClosed,
    TicketNotClosed,
    TicketNotVisible,
    TicketPolicy,
    TicketReopened,
    TicketWasMerged,
)
from tests.unit.tickets.support import (
    ADMIN,
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    OTHER_AGENT,
    OUTSIDE_AGENT,
    STRANGER,
    SUPERVISOR,
    SYSTEM,
    answered,
    closed,
    later,
    merged,
    opened,
    then,
)

# -- close -----------------------------------------------------------------------------------


def test_a_customer_closes_their_ticket():
    ticket = answered(by=AGENT)

    events = ticket.close(CUSTOMER, later(hours=1), "Solved, thanks")

    assert events == [
        TicketClosed(
            ticket_id="t-1",
            closed_by=CUSTOMER.id,
            closed_by_role=Role.CUSTOMER,
            reason="Solved, thanks",
            closed_at=later(hours=1),
        )
    ]
    then(ticket, events)
    assert ticket.status is Status.CLOSED
    assert ticket.closed_at == later(hours=1)
    assert ticket.closed_by_role is Role.CUSTOMER
    assert ticket.assignee_id == AGENT.id  # who handled it stays on record


@pytest.mark.parametrize("actor", [COLLEAGUE, AGENT, OTHER_AGENT, SUPERVISOR, ADMIN, SYSTEM])
def test_a_colleague_or_staff_of_the_department_may_close(actor):
    ticket = opened()
    then(ticket, ticket.close(actor, later(hours=1)))
    assert ticket.status is Status.CLOSED
    assert ticket.closed_by_role is actor.role


def test_closing_without_a_reason_records_none():
    [event] = opened().close(AGENT, later(hours=1), "  ")
    assert event.reason is None


def test_a_closing_reason_over_the_length_limit_is_refused():
    with pytest.raises(InvalidTicketData) as caught:
        opened().close(AGENT, later(hours=1), "x" * 1001)
    assert set(caught.value.fields) == {"reason"}


def test_a_stranger_closing_a_ticket_is_told_it_does_not_exist():
    with pytest.raises(TicketNotVisible):
        opened().close(STRANGER, later(hours=1))


def test_an_agent_of_another_department_cannot_close():
    with pytest.raises(NotInDepartment):
        opened().close(OUTSIDE_AGENT, later(hours=1))


def test_closing_a_closed_ticket_is_refused():
    with pytest.raises(TicketIsClosed):
        closed().close(CUSTOMER, later(hours=2))


def test_closing_a_merged_ticket_is_refused():
    duplicate, _ = merged()
    with pytest.raises(TicketWasMerged):
        duplicate.close(AGENT, later(hours=3))


# -- reopen ----------------------------------------------------------------------------------


def test_a_customer_reopens_within_the_window_and_the_ticket_waits_for_an_answer():
    ticket = closed(at=later(hours=1))

    events = ticket.reopen(CUSTOMER, later(days=3))

    assert events == [
        TicketReopened(
            ticket_id="t-1",
            reopened_by=CUSTOMER.id,
            reopened_by_role=Role.CUSTOMER,
            reopened_at=later(days=3),
        )
    ]
    then(ticket, events)
    assert ticket.status is Status.UNANSWERED
    assert ticket.closed_at is None
    assert ticket.closed_by_role is None


def test_a_colleague_in_the_same_organisation_may_reopen():
    [event] = closed().reopen(COLLEAGUE, later(days=1))
    assert event.reopened_by == COLLEAGUE.id


def test_a_customer_may_reopen_at_the_very_end_of_the_window():
    ticket = closed(at=later(hours=1))
    assert ticket.reopen(CUSTOMER, later(hours=1) + timedelta(days=7))


def test_a_customer_cannot_reopen_after_the_window():
    ticket = closed(at=later(hours=1))
    with pytest.raises(ReopenWindowExpired) as caught:
        ticket.reopen(CUSTOMER, later(hours=1, days=7, seconds=1))
    assert caught.value.code == "reopen_window_expired"


def test_the_reopen_window_is_the_policys():
    ticket = closed(at=later(hours=1))
    longer = TicketPolicy(reopen_window=timedelta(days=30))
    assert ticket.reopen(CUSTOMER, later(days=20), longer)


@pytest.mark.parametrize("actor", [AGENT, SUPERVISOR, ADMIN])
def test_staff_of_the_department_may_reopen_at_any_time(actor):
    ticket = closed(at=later(hours=1))
    then(ticket, ticket.reopen(actor, later(days=365)))
    assert ticket.status is Status.UNANSWERED


def test_an_agent_of_another_department_cannot_reopen():
    with pytest.raises(NotInDepartment):
        closed().reopen(OUTSIDE_AGENT, later(days=1))


def test_a_stranger_reopening_is_told_the_ticket_does_not_exist():
    with pytest.raises(TicketNotVisible):
        closed().reopen(STRANGER, later(days=1))


def test_reopening_an_open_ticket_is_refused():
    with pytest.raises(TicketNotClosed):
        opened().reopen(CUSTOMER, later(days=1))


def test_a_merged_ticket_cannot_be_reopened():
    duplicate, target = merged()
    for actor in (CUSTOMER, AGENT):
        with pytest.raises(TicketWasMerged) as caught:
            duplicate.reopen(actor, later(hours=3))
        assert caught.value.into_ticket_id == target.id


def test_a_reopened_ticket_can_be_closed_again():
    ticket = closed(at=later(hours=1))
    then(ticket, ticket.reopen(CUSTOMER, later(days=1)))
    then(ticket, ticket.close(AGENT, later(days=2)))
    assert ticket.status is Status.CLOSED
    assert ticket.closed_at == later(days=2)
